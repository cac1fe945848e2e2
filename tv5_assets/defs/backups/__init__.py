"""Group `backups`: `store_backups`, a snapshot of every store that `tv5 restore` can load back.

The asset in assets.py, its check in checks.py; what each store's backup holds and how it restores
lives in the plain package `tv5_assets.backups` (shared with `tv5 backup` / `tv5 restore`).
"""
