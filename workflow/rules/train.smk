# One rule per block of seeds (grid.seed_blocks, config key grid.block_size): each job
# trains a block's networks together for one (model, sizes, eta) to one checkpoint,
# resuming their previous checkpoint. Every output is a network's own canonical dump,
# bitwise the same however the networks are blocked.
for block in grid.seed_blocks(config["grid"]):

    rule:
        name:
            f"train_{block.name.replace('-', '_to_')}"
        input:
            mnist=rules.download_mnist.output,
            resume=resume_from(block),
        output:
            block.weights(),
        log:
            f"logs/train/model={{model}}/sizes={{sizes}}/eta={{eta}}/block={block.name}/epochs={{epochs}}.log",
        benchmark:
            f"benchmarks/train/model={{model}}/sizes={{sizes}}/eta={{eta}}/block={block.name}/epochs={{epochs}}.tsv"
        group:
            "train"
        conda:
            ENV
        threads: train_threads(block)
        resources:
            mem_mb=train_mem_mb(block),
            runtime=train_runtime(block),
        params:
            settings=train_settings,
            seeds=[{"init_seed": i, "order_seed": o} for i, o in block.members],
            code=code("train.py"),
        script:
            "../../scripts/train.py"
