rule download_mnist:
    output:
        expand("results/mnist/{file}", file=MNIST_FILES),
    log:
        "logs/download_mnist.log",
    benchmark:
        "benchmarks/download_mnist.tsv"
    retries: 2
    localrule: True
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=500,
        runtime=15,
    params:
        mirrors=config["mnist"]["mirrors"],
        code=code("download_mnist.py"),
    script:
        "../../scripts/download_mnist.py"
