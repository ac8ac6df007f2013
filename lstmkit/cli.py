"""The ``lstmkit`` command: ``lstmkit demo`` runs the five-step tutorial's worked example; ``lstmkit run
script.py`` runs a Keras script unchanged (lstmkit/run); ``lstmkit forecast [CSV]`` fits, backtests and
forecasts a series (lstmkit/forecasting/command.py)."""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

__all__ = ["demo", "main"]


def demo(epochs: int = 1000, seed: int = 7, out=None) -> dict:
    """Fit LSTM(10) -> Dense(1) to predict the next value of 0.0, 0.1, ..., 0.9; print what happens."""
    from lstmkit.layers import LSTM, Dense
    from lstmkit.models import Sequential
    from lstmkit.utils import set_random_seed

    out = out or sys.stdout
    set_random_seed(seed)
    sequence = np.arange(10) / 10.0
    X, y = sequence[:-1].reshape(9, 1, 1), sequence[1:]
    print(f"sequence: {' '.join(f'{v:.1f}' for v in sequence)}", file=out)
    print("each value predicts the next: X has shape (9, 1, 1) = (samples, timesteps, features)", file=out)

    model = Sequential([LSTM(10, input_shape=(1, 1)), Dense(1)])
    model.compile(optimizer="adam", loss="mean_squared_error")
    start = time.perf_counter()
    model.fit(X, y, epochs=epochs, batch_size=len(X), verbose=0)
    fit_seconds = time.perf_counter() - start
    loss = model.evaluate(X, y, verbose=0)
    predictions = model.predict(X, verbose=0).ravel()

    print(
        f"fit: {epochs} epochs in {fit_seconds:.2f} s ({1e3 * fit_seconds / max(epochs, 1):.2f} ms/epoch)",
        file=out,
    )
    print(f"final loss (mse): {loss:.3e}", file=out)
    print("input  target  prediction", file=out)
    for x_value, target, prediction in zip(X.ravel(), y, predictions):
        print(f"{x_value:5.1f}  {target:6.1f}  {prediction:10.3f}", file=out)
    return {"loss": loss, "predictions": predictions, "fit_seconds": fit_seconds}


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["run"]:  # the script's own arguments are not lstmkit's: argparse must not read them
        from lstmkit.run import main as run_main

        return run_main(argv[1:])
    parser = argparse.ArgumentParser(prog="lstmkit", description="Keras-style LSTM models on PyTorch.")
    commands = parser.add_subparsers(dest="command")
    demo_parser = commands.add_parser("demo", help="run the five-step tutorial's worked example")
    demo_parser.add_argument("--epochs", type=int, default=1000, help="training epochs (default 1000)")
    demo_parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    commands.add_parser("version", help="print the lstmkit and torch versions")
    commands.add_parser("run", help="run a Keras script unchanged: lstmkit run script.py [args ...]")
    from lstmkit.forecasting import command as forecast_command

    forecast_command.add_arguments(
        commands.add_parser(
            "forecast",
            help="fit, backtest and forecast a CSV column (no CSV: the embedded airline series)",
            description="Fit, backtest and forecast a series; write forecast.csv, backtest.csv, metrics.json, "
            "forecast.png and report.html into --out.",
        )
    )
    args = parser.parse_args(argv)
    if args.command == "forecast":
        return forecast_command.run(args)
    if args.command == "demo":
        if args.epochs < 1:
            parser.error(f"--epochs must be at least 1; received {args.epochs}")
        demo(epochs=args.epochs, seed=args.seed)
        return 0
    if args.command == "version":
        import torch

        import lstmkit

        print(f"lstmkit {lstmkit.__version__}, torch {torch.__version__}")
        return 0
    parser.print_help()
    return 1


if __name__ == "__main__":
    sys.exit(main())
