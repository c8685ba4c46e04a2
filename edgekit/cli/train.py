"""``edgekit train``: fit a zoo model on an image folder or ``digits``; writes model.keras and its sidecar."""

from __future__ import annotations

from typing import Annotated

import typer

from edgekit.cli._common import console, emit_json, err_console
from edgekit.cli._options import Alpha, Json, PanelCommand, finite_number, whole_number
from edgekit.limits import MAX_INPUT_SIZE
from edgekit.models.registry import MODEL_NAMES

RECIPE, TRANSFER = "Recipe", "Transfer learning"
SEED_MAX = 2**32 - 1  # numpy's seeds (Keras seeds numpy, Python and the backend with it)


def train(
    model: Annotated[str, typer.Argument(help=f"A zoo architecture: {', '.join(MODEL_NAMES)}.")], *,
    data: Annotated[str, typer.Option("--data", help="A folder with one subfolder of images per class, or "
                                      "digits (scikit-learn's 1,797 handwritten digits).")],
    output: Annotated[str, typer.Option("-o", "--output", help="Where to write the model (.keras); the "
                                        "sidecar goes to OUTPUT.json.")],
    val_split: Annotated[float, typer.Option("--val-split", help="Share of the training data held out for "
                                             "validation, between 0 and 1.", rich_help_panel=RECIPE)] = 0.2,
    seed: Annotated[int, typer.Option("--seed", callback=whole_number("--seed", low=0, high=SEED_MAX),
                                      help="Seed of the train/validation split, shuffling and initialisation.",
                                      rich_help_panel=RECIPE)] = 123,
    epochs: Annotated[int | None, typer.Option("--epochs", callback=whole_number("--epochs"),
                                               help="Epochs (default: the model's recipe).",
                                               rich_help_panel=RECIPE)] = None,
    batch_size: Annotated[int | None, typer.Option("--batch-size", callback=whole_number("--batch-size"),
                                                   help="Batch size (default: the recipe's).",
                                                   rich_help_panel=RECIPE)] = None,
    lr: Annotated[float | None, typer.Option("--lr", callback=finite_number("--lr", low=0, low_open=True),
                                             help="Learning rate, Adam with cosine decay (default: the recipe's).",
                                             rich_help_panel=RECIPE)] = None,
    augment: Annotated[str | None, typer.Option("--augment", help="Comma-separated: flip, rotate, zoom, contrast, "
                                                "shift; or none (default: the recipe's).",
                                                rich_help_panel=RECIPE)] = None,
    weights: Annotated[str | None, typer.Option(
        "--weights", help="none (from scratch, the default), imagenet (from the Keras cache) or a file of base "
        "weights.", rich_help_panel=TRANSFER)] = None,
    freeze_base: Annotated[bool | None, typer.Option(
        "--freeze-base/--no-freeze-base", help="With --weights: train only the new head (the default), or "
        "everything.", rich_help_panel=TRANSFER)] = None,
    fine_tune_at: Annotated[str | None, typer.Option(
        "--fine-tune-at", help="With --weights: then unfreeze the base from this layer (name or index) at a "
        "lower lr.", rich_help_panel=TRANSFER)] = None,
    input_size: Annotated[int | None, typer.Option("--input-size",
                                                   callback=whole_number("--input-size", high=MAX_INPUT_SIZE),
                                                   help=f"Square input size, 1 to {MAX_INPUT_SIZE} (default: the "
                                                   "model's).", rich_help_panel="Model")] = None,
    alpha: Alpha = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing output.")] = False,
    json: Json = False,
) -> None:
    """Train a zoo model, from scratch or from pretrained weights, and save it with its sidecar."""
    from pathlib import Path

    from edgekit.data import parse_data
    from edgekit.models.recipes import parse_augment
    from edgekit.models.train import TrainConfig
    from edgekit.models.train import train as run_training

    config = TrainConfig(model, parse_data(data), Path(output), val_split=val_split, seed=seed, epochs=epochs,
                         batch_size=batch_size, lr=lr, augment=parse_augment(augment), weights=weights,
                         freeze_base=freeze_base, fine_tune_at=fine_tune_at, input_size=input_size, alpha=alpha,
                         force=force)

    def show(e) -> None:
        m = e.metrics
        err_console.print(f"{e.phase} epoch {e.epoch:>3}/{e.epochs}  loss {m.get('loss', 0):.4f}  "
                          f"acc {100 * m.get('accuracy', 0):5.1f}%  val_loss {m.get('val_loss', 0):.4f}  "
                          f"val_acc {100 * m.get('val_accuracy', 0):5.1f}%  {e.seconds:.1f} s",
                          markup=False, highlight=False, soft_wrap=True)

    result = run_training(config, progress=show,
                          notify=lambda msg: err_console.print(msg, markup=False, soft_wrap=True))
    if json:
        emit_json(result.document)
        return
    doc = result.document
    console().print(f"wrote {result.path} ({doc['model']}, input {'x'.join(map(str, doc['input_shape']))}, "
                    f"{len(doc['labels'])} classes, {doc['data']['train_samples']} training and "
                    f"{doc['data']['val_samples']} validation samples): validation accuracy "
                    f"{100 * result.val_accuracy:.2f}% after {result.seconds:.0f} s; "
                    f"training record {result.record_path}",
                    markup=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command(cls=PanelCommand)(train)
