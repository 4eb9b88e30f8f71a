"""partsmith: hermetic build rules for snapcraft-style parts, scheduled by doit.

The main flow, one package a step, each importing only the layers below it (pyproject's
import-linter contract):

    cli.task_table      doit's tasks for a workspace (workspace.load_workspace)
    -> build.builder    per part: plan (plugins return data) and key record (build.key_record)
    -> cache            run_cached: the store, a remote cache, else produce
    -> action           the hermetic action: a step script in its sandbox, output captured as a Tree
    -> stage            stage and prime: the parts' Trees merged (tree.merge) into a link farm

`release` packs and verifies prime; `python` and `pull` fetch what builds need; `core` holds
errors, digests, atomic files and flocks.
"""
