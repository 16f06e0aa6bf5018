"""increase-eval: evaluation workbook for INCREASE Valorisation Sociale.

Data flows one way: raw exports -> readers -> normalise -> schema -> pseudonymise ->
prepare -> data/processed -> analysis notebooks -> reports.
"""

__version__ = "0.1.0"
