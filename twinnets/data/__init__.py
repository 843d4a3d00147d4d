"""Stage 1, the data: MNIST fetched from mirrors, verified, split as the book does."""
