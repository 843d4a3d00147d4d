"""The ``twinnets`` command line: thin wrappers over the package's functions."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from twinnets import __version__

FORMATS = (
    "nielsen-json",
    "safetensors",
    "npz",
)  # twinnets.dumps.formats.FORMATS, without importing
INPUT_FORMATS = ("auto", "dump", *FORMATS)


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(s) for s in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers like 784,30,10, got {text!r}"
        ) from None
    if len(sizes) < 2 or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"need at least two positive layer sizes, got {text!r}")
    return sizes


def _fetch(args: argparse.Namespace) -> int:
    from twinnets.data.mnist import fetch_mnist

    mirrors = args.mirror if args.mirror else None
    for path in fetch_mnist(args.dest, mirrors, timeout=args.timeout):
        print(f"verified {path}", file=sys.stderr)
    return 0


def _train(args: argparse.Namespace) -> int:
    from threadpoolctl import threadpool_limits

    from twinnets.dumps.checkpoints import format_epoch, train_checkpoint
    from twinnets.dumps.storage import read_dump
    from twinnets.train.network import TrainConfig

    if args.resume and read_dump(args.resume).unknown:
        raise ValueError(
            f"cannot resume {args.resume}: an imported network's training settings are unknown "
            f"({', '.join(sorted(read_dump(args.resume).unknown))})"
        )

    if (args.fork_epoch is None) != (args.fork_seed is None):
        raise ValueError(
            "--fork-epoch and --fork-seed go together: a forked child needs both "
            "(give both, or neither for a network that is not a child)"
        )
    config = TrainConfig(
        sizes=args.sizes,
        eta=args.eta,
        batch_size=args.batch_size,
        epochs=args.epochs,
        cost=args.cost,
        lmbda=args.lmbda,
        init=args.init,
        init_seed=args.init_seed,
        order_seed=args.order_seed,
        dtype=args.dtype,
        n_train=args.n_train,
        activation=args.activation,
        fork_epoch=args.fork_epoch,
        fork_seed=args.fork_seed,
    )
    with threadpool_limits(args.threads):
        train_checkpoint(
            config,
            args.mnist,
            args.out,
            resume=args.resume,
            on_epoch=lambda m: print(format_epoch(m), file=sys.stderr),
        )
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


COMPARE_KEYS = {
    "raw_distance": "distance_all",
    "raw_relative_distance": "relative_all",
    "null_raw_relative_distance": "null_relative_all",
    "aligned_distance": "distance_signed",
    "aligned_relative_distance": "relative_signed",
    "null_aligned_relative_distance": "null_relative_signed",
    "permutation_aligned_distance": "distance_permutation",
    "activation_aligned_distance": "distance_activation",
    "init_part": "init_part_signed",
    "training_part": "training_part_signed",
    "cross_term": "cross_term_signed",
    "preactivation_relative_distance": "preactivation_relative_signed",
    "raw_preactivation_relative_distance": "preactivation_relative_raw",
    "null_preactivation_relative_distance": "null_preactivation_relative_signed",
    "cka": "cka_linear",
    "null_cka": "null_cka_linear",
    "cka_debiased": "cka_debiased",
    "null_cka_debiased": "null_cka_debiased",
    "matched_unit_correlation": "matched_corr_mean",
    "null_matched_unit_correlation": "null_matched_corr_mean",
    "agreement": "agreement",
    "null_agreement": "null_agreement",
    "independent_agreement": "independent_agreement",
    "a_errors_shared": "a_errors_shared",
    "b_errors_shared": "b_errors_shared",
    "independent_a_errors_shared": "independent_a_errors_shared",
    "tv_distance": "tv_distance",
    "barrier_raw": "barrier_test_error_raw",
    "barrier_aligned": "barrier_test_error_aligned",
    "null_barrier_raw": "null_barrier_test_error_raw",
    "null_barrier_aligned": "null_barrier_test_error_aligned",
    "endpoint_test_error": "endpoint_test_error_raw",
    "barrier_cost_raw": "barrier_train_cost_raw",
    "barrier_cost_aligned": "barrier_train_cost_aligned",
    "endpoint_train_cost": "endpoint_train_cost_raw",
}

#: Shares of one pair's squared distance: (numerator column, its power, denominator column).
COMPARE_SHARES = {
    "symmetry_share": ("distance_signed", 2, "distance_all", True),
    "null_symmetry_share": ("null_distance_signed", 2, "null_distance_all", True),
    "training_net_share": ("init_part_signed", 2, "distance_signed", True),
    "dead_pixel_share": ("distance_weight1_dead", 2, "distance_all", False),
    "null_dead_pixel_share": ("null_distance_weight1_dead", 2, "null_distance_all", False),
    "unseen_share": ("unseen_sq_weight1_signed", 1, "distance_weight1_signed", False),
    "null_unseen_share": (
        "null_unseen_sq_weight1_signed",
        1,
        "null_distance_weight1_signed",
        False,
    ),
}


def compare_metrics(row) -> dict[str, object]:
    """The ``compare --json`` keys of one analysed pair (a row of the pairs table)."""
    metrics: dict[str, object] = {key: float(row[column]) for key, column in COMPARE_KEYS.items()}
    for key, (numerator, power, denominator, complement) in COMPARE_SHARES.items():
        whole = float(row[denominator]) ** 2
        share = float(row[numerator]) ** power / whole if whole > 0 else float("nan")
        metrics[key] = 1.0 - share if complement else share
    both, errors = float(row["errors_both"]), float(row["errors_mean"])
    metrics["errors_shared"] = both / errors if errors > 0 else float("nan")
    metrics["independent_errors_shared"] = (
        float(row["independent_errors_both"]) / errors if errors > 0 else float("nan")
    )
    metrics["barrier_aligned_method"] = row["barrier_aligned_method"]
    metrics["unseen_directions"] = int(row["unseen_directions"])
    return metrics


def _compare_inputs(args: argparse.Namespace, folder: str) -> tuple[list, list]:
    """Each input as (dump path, Dump): dumps as they are, other formats imported into ``folder``.

    Imported networks (and dumps without metrics) are evaluated on MNIST first, so the
    analysis reports their accuracy like that of any network trained here.
    """
    from pathlib import Path

    from twinnets.data.mnist import load_mnist
    from twinnets.dumps import formats as interop
    from twinnets.dumps.storage import read_dump

    data = None
    paths, dumps = [], []
    for label, src in (("a", args.a), ("b", args.b)):
        kind = interop.detect_format(src) if args.format == "auto" else args.format
        if kind == "dump":
            dump = read_dump(src)
            if dump.network.metrics:
                paths.append(src)
                dumps.append(dump)
                continue
        data = data or load_mnist(args.mnist)
        out = Path(folder) / f"{label}.parquet"
        if kind == "dump":
            interop.evaluate_dump_to(dump, out, data)
        else:
            interop.import_to_dump(src, out, kind, args.activation, data)
        dump = read_dump(out)
        dump.path = Path(src)
        paths.append(out)
        dumps.append(dump)
    a, b = dumps
    if a.config.activation != b.config.activation:
        raise interop.FormatError(
            args.b,
            f"is a {b.config.activation} network but {args.a} is {a.config.activation}; "
            "networks with different hidden activations compute different functions of their "
            "parameters and have different symmetries, so they are not compared",
            "activation",
        )
    if a.config.sizes != b.config.sizes:
        raise interop.FormatError(
            args.b,
            f"has sizes {list(b.config.sizes)} but {args.a} has {list(a.config.sizes)}; "
            "only networks of the same sizes can be compared",
            "sizes",
        )
    return paths, dumps


def _compare(args: argparse.Namespace) -> int:
    import json
    import tempfile

    from threadpoolctl import threadpool_limits

    from twinnets.compare.groups import analyze_group
    from twinnets.compare.symmetry import symmetry
    from twinnets.dumps import formats as interop

    interop.check_activation(args.activation)
    with tempfile.TemporaryDirectory(prefix="twinnets-compare-") as folder:
        paths, dumps = _compare_inputs(args, folder)
        with threadpool_limits(args.threads):
            result = analyze_group(paths, args.mnist, barrier_pairs=1)
    metrics = compare_metrics(result.pairs.iloc[0])
    accuracy = dict(zip("ab", result.networks.test_accuracy.astype(float), strict=True))
    info = dict(zip("ab", (interop.network_info(d) for d in dumps), strict=True))
    if args.json:
        print(json.dumps({**metrics, "a_test_accuracy": accuracy["a"],
                          "b_test_accuracy": accuracy["b"],
                          "a_init_known": info["a"]["init_known"],
                          "b_init_known": info["b"]["init_known"],
                          "a": info["a"], "b": info["b"]}, indent=2))  # fmt: skip
        return 0
    for label, src, dump in (("A", args.a, dumps[0]), ("B", args.b, dumps[1])):
        kind = info[label.lower()]["format"]
        print(
            f"{label}: {src}  ({kind}; {interop.describe_init(dump)}; "
            f"test accuracy {accuracy[label.lower()]:.4f})"
        )
    width = max(map(len, metrics))
    for key, value in metrics.items():
        print(
            f"  {key:<{width}}  {value:.6g}"
            if isinstance(value, float)
            else f"  {key:<{width}}  {value}"
        )
    moves = symmetry(dumps[0].config.activation).moves
    print(f"distances over all parameters; aligned = hidden-unit permutation + {moves};")
    print("null_: the same statistic for the two networks' own initialisations (rebuilt from")
    print("their seeds; a fresh random init of the same sizes where the init is unknown);")
    print("init_part**2 + training_part**2 + 2 cross_term = aligned_distance**2;")
    print("barriers: rise of test error (cost: training cost) above the chord on the straight")
    print("line, as a fraction (x100 = percentage points); aligned = the lowest over alignments")
    return 0


def _import(args: argparse.Namespace) -> int:
    from twinnets.data.mnist import load_mnist
    from twinnets.dumps import formats as interop

    data = load_mnist(args.mnist) if args.mnist else None
    dump = interop.import_to_dump(args.src, args.out, args.format, args.activation, data)
    source = dump.source
    print(
        f"wrote {args.out}: {source['format']} {source['file']} (sha256 {source['sha256'][:12]}...), "
        f"sizes {list(dump.config.sizes)}, {dump.metadata['activation']}; unknown: "
        f"{', '.join(sorted(dump.unknown))}",
        file=sys.stderr,
    )
    if dump.network.metrics:
        m = dump.network.metrics[-1]
        print(
            f"evaluated: test accuracy {m.test_accuracy:.4f}, validation "
            f"{m.validation_accuracy:.4f}, training cost {m.train_cost:.5f}",
            file=sys.stderr,
        )
    return 0


def _export(args: argparse.Namespace) -> int:
    from twinnets.dumps import formats as interop

    interop.export_network(args.dump, args.out, args.format)
    print(f"wrote {args.out} ({args.format})", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="twinnets",
        description="Train Nielsen's MNIST network reproducibly and compare trained networks.",
    )
    parser.add_argument("--version", action="version", version=f"twinnets {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_add_fetch, _add_train, _add_compare, _add_import, _add_export):
        add(sub)
    return parser


def _add_fetch(sub: argparse._SubParsersAction) -> None:
    fetch = sub.add_parser(
        "fetch-mnist",
        help="download and verify the four MNIST files",
        description="Fetch the four MNIST .gz files, verifying each by the SHA-256 of its "
        "content. Mirrors in $TWINNETS_MNIST_MIRROR come first.",
    )
    fetch.add_argument(
        "--mirror",
        action="append",
        metavar="M",
        help="a mirror to try, in order: http(s):// or file:// base URL, or a local folder "
        "(repeatable; default: the public mirrors)",
    )
    fetch.add_argument("--dest", required=True, help="folder to write the verified files into")
    fetch.add_argument(
        "--timeout", type=float, default=30.0, help="seconds per download (default 30)"
    )
    fetch.set_defaults(func=_fetch)


def _add_train(sub: argparse._SubParsersAction) -> None:
    from twinnets.train.network import (  # the one home of these names
        ACTIVATIONS,
        COSTS,
        DTYPES,
        INITS,
    )

    tr = sub.add_parser(
        "train",
        help="train one network and dump its weights to Parquet",
        description="Train Nielsen's network by the documented randomness protocol and "
        "write its parameters and provenance to a Parquet dump.",
    )
    tr.add_argument("--mnist", required=True, help="folder holding the four MNIST .gz files")
    tr.add_argument(
        "--sizes", type=_sizes, default=(784, 30, 10), help="layer sizes (default 784,30,10)"
    )
    tr.add_argument("--eta", type=float, default=3.0, help="learning rate (default 3.0)")
    tr.add_argument("--batch-size", type=int, default=10, help="mini-batch size m (default 10)")
    tr.add_argument("--epochs", type=int, default=30, help="total epochs to train (default 30)")
    tr.add_argument("--init-seed", type=int, default=0, help="seed of the initial parameters")
    tr.add_argument("--order-seed", type=int, default=0, help="seed of the mini-batch order")
    tr.add_argument("--cost", choices=COSTS, default="quadratic")
    tr.add_argument("--lmbda", type=float, default=0.0, help="L2 regularisation lambda (default 0)")
    tr.add_argument(
        "--init",
        choices=INITS,
        default="nielsen",
        help="weights N(0,1) (nielsen) or N(0,1/n_in) (scaled)",
    )
    tr.add_argument(
        "--activation",
        choices=ACTIVATIONS,
        default="sigmoid",
        help="the hidden layers' activation (default sigmoid, as in the book; the output layer "
        "stays a sigmoid). Sensible: tanh with --init scaled; relu with --init scaled and "
        "--cost cross-entropy",
    )
    tr.add_argument("--dtype", choices=DTYPES, default="float64")
    tr.add_argument(
        "--n-train",
        type=int,
        default=50_000,
        help="train on the first N of the 50,000 training images (default all)",
    )
    tr.add_argument(
        "--threads", type=int, default=1, help="BLAS threads (results do not depend on it)"
    )
    tr.add_argument(
        "--fork-epoch",
        type=int,
        metavar="K",
        help="train a child forked from its parent (the same settings without the fork) after "
        "K epochs: the parent's data order up to epoch K, the fork seed's after it",
    )
    tr.add_argument(
        "--fork-seed",
        type=int,
        metavar="F",
        help="the child's order seed after the fork (with --fork-epoch): epoch k > K visits "
        "the data in the order default_rng([F, k]).permutation(n_train)",
    )
    tr.add_argument(
        "--resume",
        metavar="DUMP",
        help="continue a dump of the same settings with fewer epochs (a child: also its "
        "parent's dump at epoch K or earlier)",
    )
    tr.add_argument("--out", required=True, metavar="DUMP.parquet", help="where to write the dump")
    tr.set_defaults(func=_train)


def _add_compare(sub: argparse._SubParsersAction) -> None:
    cmp = sub.add_parser(
        "compare",
        help="how different two trained networks really are",
        description="Raw and symmetry-aligned distances, representation and function "
        "similarity, and loss barriers between two networks of the same sizes: twinnets "
        "dumps, network2.py JSON, safetensors (nn.Sequential names) or .npz files.",
    )
    cmp.add_argument("a", metavar="A", help="the first network: a dump or a network file")
    cmp.add_argument("b", metavar="B", help="the second network")
    cmp.add_argument("--mnist", required=True, help="folder holding the four MNIST .gz files")
    cmp.add_argument(
        "--format",
        choices=INPUT_FORMATS,
        default="auto",
        help="format of both inputs (default auto: by suffix, then content)",
    )
    cmp.add_argument(
        "--activation",
        default="sigmoid",
        help="the hidden layers' activation of network files (sigmoid, tanh or relu; default "
        "sigmoid); dumps record their own",
    )
    cmp.add_argument("--json", action="store_true", help="print JSON instead of a table")
    cmp.add_argument("--threads", type=int, default=2, help="BLAS threads (default 2)")
    cmp.set_defaults(func=_compare)


def _add_import(sub: argparse._SubParsersAction) -> None:
    imp = sub.add_parser(
        "import",
        help="convert a network from Nielsen's code, PyTorch or NumPy into a dump",
        description="Read network2.py's JSON (Network.save), safetensors with nn.Sequential "
        "names ({i}.weight, {i}.bias) or .npz (w1, b1, w2, b2, ...) and write a twinnets dump. "
        "Training settings the file does not carry are recorded as unknown (null). Pickles "
        "are refused.",
    )
    imp.add_argument("src", metavar="SRC", help="the network file")
    imp.add_argument("--out", required=True, metavar="DUMP.parquet", help="where to write the dump")
    imp.add_argument("--format", choices=("auto", *FORMATS), default="auto")
    imp.add_argument(
        "--activation",
        default="sigmoid",
        help="the hidden layers' activation: sigmoid (the default, as in the book), tanh or "
        "relu; no format records it. The output layer is read as a sigmoid",
    )
    imp.add_argument(
        "--mnist", help="also evaluate it on MNIST (this folder) and record accuracy and cost"
    )
    imp.set_defaults(func=_import)


def _add_export(sub: argparse._SubParsersAction) -> None:
    exp = sub.add_parser(
        "export",
        help="write a dump's network for PyTorch, NumPy or Nielsen's code",
        description="safetensors loads into nn.Sequential(Linear, Sigmoid, Linear, Sigmoid) "
        "with load_state_dict (Tanh or ReLU between the Linear modules of a tanh or relu "
        "network); nielsen-json (sigmoid networks only) loads with network2.load; npz holds "
        "w1, b1, ...",
    )
    exp.add_argument("dump", metavar="DUMP", help="a twinnets dump")
    exp.add_argument("--out", required=True, metavar="FILE", help="where to write the network")
    exp.add_argument("--format", choices=FORMATS, required=True)
    exp.set_defaults(func=_export)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from twinnets.data.mnist import MnistError
    from twinnets.dumps.storage import DumpError
    from twinnets.train.network import TrainingDiverged

    try:
        return args.func(args)
    except (MnistError, DumpError, TrainingDiverged, ValueError, FileNotFoundError) as exc:
        print(f"twinnets {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
