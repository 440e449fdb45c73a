"""Application code built on the library: bundle helpers, the experiment runner, the demo.

``bundle`` holds what the bundles' configs call (dataset preparation, checked datalists, checkpoint resume, the
offline metadata schema); ``experiments`` runs the papers' comparison grids through the bundles
(``python -m monai_imbalance.apps.experiments``); ``demo`` draws the package's maps on a synthetic volume
(``python -m monai_imbalance.apps.demo``); ``resources`` finds the repository's bundles and configs from a
checkout or from the copy shipped in the installed package.
"""
