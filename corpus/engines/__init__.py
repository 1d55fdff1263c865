"""Where curate runs: `partitioned` holds its two passes over partitions of the input files
for any corpus executor (`corpus.parallel`); `dask_cluster` connects to a Dask cluster or
starts a local one (`contraband curate --engine dask`, the optional `dask` extra)."""
