"""Stage 2, training: the model's maths, the compiled trainer and blocks of networks."""
