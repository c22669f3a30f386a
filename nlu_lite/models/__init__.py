"""Models: which one a name means, where its files are, and how its tokenizer and weights load.

- ``_catalog``: ``catalog.yaml`` read into entries, validated, names resolved, browsed (``catalog()``, ``search()``);
- ``_families``: what each encoder family needs (position offsets, input-length multiples), one table;
- ``_sources``: the model files: a folder, a packaged model, the Hugging Face cache or the hub;
- ``_st_config``: a folder's own sentence-transformers configuration (pooling, normalisation, prompts);
- ``_hf_model``: the Hugging Face config and weights, loaded and checked;
- ``_encoder``: the tokenizer with its special-token template, and the runtime that runs the weights.
"""
