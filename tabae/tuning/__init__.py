"""Hyperparameter search for tabae models, with Optuna: ``tabae.tune``.

One call searches a model's parameters for one job, then refits the best on every
row::

    result = tabae.tune(df, task="impute", n_trials=30, storage="tune.db", random_state=0)
    result.model.impute(df)          # the refitted best model
    result.summary()                 # the best trials
    result.study                     # the optuna.Study, every trial

=====================  ================================================================
module                 job
=====================  ================================================================
``spaces``             default search ranges (inside the models' constraints), overrides
``objectives``         the validation split and each task's score
``storage``            opening storages; creating and continuing tabae studies
``study``              :func:`tune`
``result``             :class:`TuningResult`
``command``            the ``tabae tune`` command line
=====================  ================================================================

Studies can live in a file or database (``storage=``): the same ``storage`` and
``study_name`` continue an interrupted study, and several processes (a journal file
``tune.log`` or SQLite ``tune.db`` on one machine) or machines (a database URL such as
``postgresql://user:password@host/db``) can add trials to one study at once.
``optuna-dashboard <storage>`` opens any of them in a browser.
"""

from tabae.tuning.objectives import TASKS
from tabae.tuning.result import TuningResult
from tabae.tuning.spaces import MODELS, default_search_space
from tabae.tuning.study import tune

__all__ = ["tune", "TuningResult", "default_search_space", "TASKS", "MODELS"]
