"""The models the import acceptance tests read, as data: each torchvision builder of issue 16's list
(with the keyword arguments that build it without downloads and without auxiliary heads), the
segmentation models' `out` head, the transformers archcalc must refuse, and the models of
tests/import_models.py; each with the input it is imported at and whether the default run has it.

The input is the smallest each model takes with every check still meaningful: every stage keeps
a spatial size of at least 1 (64x64 leaves 2x2 after a /32 network), inception_v3 needs 75."""

from __future__ import annotations

import importlib
import json
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.import_oracle import weights_left_uninitialised

MODELS_FILE = Path(__file__).with_name("import_models.py")


@dataclass(frozen=True, slots=True)
class Case:
    """One model: `target` as `archcalc import` reads it, `kwargs` its --kwargs, `input` (C, H, W),
    `slow` for the full list only, `unsupported` what `import`'s refusal must name (else None):
    the op, its module path, its source line; `runs` whether the checks that run the model and
    the spec's export (`verify --against`, `export --to torch`) are made too (else the counts only,
    and the model is built without initialising its weights)."""

    id: str
    target: str
    input: tuple[int, int, int]
    kwargs: dict[str, Any] = field(default_factory=dict)
    slow: bool = True
    unsupported: tuple[str, ...] | None = None
    runs: bool = True

    @property
    def input_text(self) -> str:
        return "x".join(map(str, self.input))

    def cli_args(self) -> list[str]:
        """TARGET and its --kwargs, as `import` and `verify --against` take them: the slow list's
        torchvision models by `prebuilt` (the instance the oracle measured: one build per model,
        not three, where regnet_y_128gf takes 5-30 s to build); the rest as users write them."""
        if self.slow and self.id in BUILT:
            return [f"{__name__}:prebuilt", "--kwargs", json.dumps({"case": self.id})]
        return [self.target, *(["--kwargs", json.dumps(self.kwargs)] if self.kwargs else [])]

    def build(self) -> Any:
        """The module itself, as the target names it (the oracle's side); its weights left
        uninitialised where only counts are checked (`weights_left_uninitialised`)."""
        where, name = self.target.rsplit(":", 1)
        if where.endswith(".py"):
            from tests import import_models

            builder = getattr(import_models, name)
        else:
            builder = getattr(importlib.import_module(where), name)
        with nullcontext() if self.runs else weights_left_uninitialised():
            return builder(**self.kwargs)


# case id -> the module the tests built for it (tests/test_import_zoo.py fills and empties it)
BUILT: dict[str, Any] = {}


def prebuilt(case: str) -> Any:
    """The module built for `case`, as a target: `tests.import_cases:prebuilt --kwargs '{"case": ...}'`."""
    return BUILT[case]


# the default run's handful: one of each family the importer must map differently (residuals;
# squeeze-excitation and hardswish; split and shuffle; concatenation; channels-last LayerNorm and
# layer scale; upsampling and a dict output; a refusal), about 75 s on 2 idle cores. densenet121
# (a concatenation of one tensor, 25 s) is in the slow list.
DEFAULT = {
    "resnet18",
    "mobilenet_v3_small",
    "shufflenet_v2_x0_5",
    "squeezenet1_1",
    "convnext_tiny",
    "lraspp_mobilenet_v3_large",
    "vit_b_16",
}

# the slow list's one model per family (per torchvision module, or per block where one module
# builds two: resnet.py's bottleneck, efficientnet.py's v2, regnet.py's x and y) that also runs
# `verify --against` and `export --to torch`: those checks run the model and its export, take
# most of a model's time, and test the mapping of a family's layers, which its other members
# repeat at other widths and depths; every model keeps every count check (the slow list must fit
# in about 7 minutes of `.ci/run` on 2 cores). The default handful runs them all.
REPRESENTATIVE = {
    "alexnet",
    "vgg11_bn",
    "resnext50_32x4d",
    "densenet121",
    "googlenet",
    "inception_v3",
    "mobilenet_v2",
    "mnasnet0_5",
    "efficientnet_b0",
    "efficientnet_v2_s",
    "regnet_x_400mf",
    "regnet_y_400mf",
    "fcn_resnet50",
    "deeplabv3_mobilenet_v3_large",
}

CLASSIFICATION = [
    "alexnet",
    *(f"vgg{d}{bn}" for d in (11, 13, 16, 19) for bn in ("", "_bn")),
    *(f"resnet{d}" for d in (18, 34, 50, 101, 152)),
    "resnext50_32x4d",
    "resnext101_32x8d",
    "resnext101_64x4d",
    "wide_resnet50_2",
    "wide_resnet101_2",
    "squeezenet1_0",
    "squeezenet1_1",
    *(f"densenet{d}" for d in (121, 161, 169, 201)),
    "googlenet",
    "inception_v3",
    "mobilenet_v2",
    "mobilenet_v3_small",
    "mobilenet_v3_large",
    *(f"mnasnet{w}" for w in ("0_5", "0_75", "1_0", "1_3")),
    *(f"shufflenet_v2_x{w}" for w in ("0_5", "1_0", "1_5", "2_0")),
    *(f"efficientnet_b{i}" for i in range(8)),
    *(f"efficientnet_v2_{s}" for s in ("s", "m", "l")),
    *(f"regnet_x_{s}" for s in ("400mf", "800mf", "1_6gf", "3_2gf", "8gf", "16gf", "32gf")),
    *(f"regnet_y_{s}" for s in ("400mf", "800mf", "1_6gf", "3_2gf", "8gf", "16gf", "32gf", "128gf")),
    *(f"convnext_{s}" for s in ("tiny", "small", "base", "large")),
]
# auxiliary heads off, as at inference; init_weights=False skips a slow scipy truncated-normal init
KWARGS: dict[str, dict[str, Any]] = {
    "googlenet": {"aux_logits": False, "init_weights": False},
    "inception_v3": {"aux_logits": False, "init_weights": False},
}
INPUTS: dict[str, tuple[int, int, int]] = {"inception_v3": (3, 75, 75)}
SEGMENTATION = ["fcn_resnet50", "deeplabv3_resnet50", "deeplabv3_mobilenet_v3_large", "lraspp_mobilenet_v3_large"]
# what the refusal must name (torchvision 0.28.0, read by torch.fx): the first op it cannot map
# in execution order, its module path and its source line. ViT: the class token's `expand` in the
# model's own forward; Swin: the relative position bias of the first block's attention; MaxViT:
# the reshape into windows. Each with its input and kwargs (ViT at 32x32, 2x2 patches: the
# refusal is the same at any size; MaxViT's windows need 224).
TRANSFORMERS: dict[str, tuple[tuple[str, ...], tuple[int, int, int], dict[str, Any]]] = {
    "vit_b_16": (("Tensor.expand", "vision_transformer.py:295"), (3, 32, 32), {"image_size": 32}),
    "swin_t": (("features.1.0.attn", "_get_relative_position_bias", "swin_transformer.py:287"), (3, 64, 64), {}),
    "maxvit_t": (
        ("blocks.0.layers.0.layers.window_attention.partition_op", "Tensor.reshape", "maxvit.py:246"),
        (3, 224, 224),
        {},
    ),
}


def _cases() -> list[Case]:
    from tests import import_models

    cases = [
        Case(
            name,
            f"torchvision.models:{name}",
            INPUTS.get(name, (3, 64, 64)),
            KWARGS.get(name, {}),
            slow=name not in DEFAULT,
            runs=name in DEFAULT | REPRESENTATIVE,
        )
        for name in CLASSIFICATION
    ]
    cases += [
        Case(
            name,
            f"torchvision.models.segmentation:{name}",
            (3, 64, 64),
            {"weights_backbone": None, "aux_loss": False},
            slow=name not in DEFAULT,
            runs=name in DEFAULT | REPRESENTATIVE,
        )
        for name in SEGMENTATION
    ]
    cases += [
        Case(
            name,
            f"torchvision.models:{name}",
            shape,
            kwargs,
            slow=name not in DEFAULT,
            unsupported=path,
            runs=name in DEFAULT,
        )
        for name, (path, shape, kwargs) in TRANSFORMERS.items()
    ]
    cases += [
        Case(name, f"{MODELS_FILE}:{name}", shape, slow=False, unsupported=import_models.UNSUPPORTED.get(name))
        for name, shape in import_models.INPUTS.items()
    ]
    return cases


CASES = _cases()
SUPPORTED = [c for c in CASES if c.unsupported is None]
UNSUPPORTED = [c for c in CASES if c.unsupported is not None]
