rule train:
    input:
        mnist=rules.download_mnist.output,
        resume=resume_from,
    output:
        grid.WEIGHTS,
    log:
        "logs/train/model={model}/sizes={sizes}/eta={eta}/init_seed={init_seed}/order_seed={order_seed}/epochs={epochs}.log",
    benchmark:
        "benchmarks/train/model={model}/sizes={sizes}/eta={eta}/init_seed={init_seed}/order_seed={order_seed}/epochs={epochs}.tsv"
    group:
        "train"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=train_mem_mb,
        runtime=train_runtime,
    params:
        settings=train_settings,
        code=code("train.py"),
    script:
        "../../scripts/train.py"
