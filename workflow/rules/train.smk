# One rule per (model, sizes, eta) setting and block of seeds (grid.train_rules, config key
# grid.block_size): each job trains a block's networks together to one checkpoint, resuming
# their previous checkpoint. Every output is a network's own canonical dump, bitwise the
# same however the networks are blocked. The setting is spelled out in each rule's paths,
# not left as wildcards, so that Snakemake finds a dump's rule by its path prefix. A block
# of forked children (grid.fork_epochs x grid.fork_seeds) has its own rule too, whose
# first checkpoint past the fork resumes the parents' dumps at the fork epoch.
for name, setting, block in grid.train_rules(config):

    rule:
        name:
            name
        input:
            mnist=rules.download_mnist.output,
            resume=resume_from(setting, block),
        output:
            block.weights(**setting.wildcards()),
        log:
            f"logs/train/model={setting.model}/sizes={setting.sizes}/eta={setting.eta}/block={block.name}/epochs={{epochs}}.log",
        benchmark:
            f"benchmarks/train/model={setting.model}/sizes={setting.sizes}/eta={setting.eta}/block={block.name}/epochs={{epochs}}.tsv"
        group:
            "train"
        conda:
            ENV
        threads: train_threads(block)
        resources:
            mem_mb=train_mem_mb(setting, block),
            runtime=train_runtime(setting, block),
        params:
            settings=train_settings(setting, block),
            seeds=[{"init_seed": i, "order_seed": o} for i, o in block.members],
            code=code("train.py"),
        script:
            "../../scripts/train.py"
