"""The asset groups, one folder each (`<group>/assets.py`, `<group>/checks.py` beside it), and the
store resources (resources.py). `tv5_assets/definitions.py` loads the whole folder with
`dg.load_from_defs_folder`; nothing here needs to be registered by hand.
"""
