"""The attribution methods, named once for :mod:`.attributions` and the ``zoo interpret`` options.

Free of torch (and of any import) so that the command line can list them without loading a model
library.
"""

METHODS = ("ism", "saliency", "input_x_gradient", "deepliftshap")
