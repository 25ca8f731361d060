"""Recipe files shipped with ebmzoo, installed as the package ``ebmzoo_recipes``.

Each ``*.toml`` file here names the pipeline it configures and overrides that pipeline's
defaults; the plugin that owns the pipeline registers one recipe per file.
"""
