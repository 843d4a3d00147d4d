rule train:
    input:
        mnist=rules.download_mnist.output,
        resume=resume_from,
    output:
        grid.WEIGHTS,
    log:
        "logs/train/sizes={sizes}/eta={eta}/init_seed={init_seed}/order_seed={order_seed}/epochs={epochs}.log",
    benchmark:
        "benchmarks/train/sizes={sizes}/eta={eta}/init_seed={init_seed}/order_seed={order_seed}/epochs={epochs}.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
    params:
        settings=train_settings,
        code=code("train.py"),
    script:
        "../../scripts/train.py"
