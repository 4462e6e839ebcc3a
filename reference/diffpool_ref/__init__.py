"""diffpool_ref: the PyTorch reference for diffpool-rt.

The float64 numerical truth the runtime is checked against, the trainer that
produces the shipped models, and the exporters that write the files of
docs/formats.md (config.json, model.safetensors, graphs.json).

Modules:
    config       build and validate config.json dictionaries
    model        DiffPool (PyG dense DiffPool example layout) built from a config
    tu           reader for the TU text format and its 10-fold splits
    safetensors  minimal safetensors writer and reader (numpy based)
    graphset     graphs.json: graph records, random graphs, reference outputs
    export       write a model directory (safetensors, .pt, config, graphs)
    train        compact trainer (CLI)
    crossval     10-fold cross-validation (CLI)
    select       per-fold hyperparameter selection from a grid (CLI)
    make_graphs  graphs.json generator (CLI)
"""

__version__ = "0.1.0"
