"""One-off GPU benchmarks of the kernels in kernels/ (not used at tune or serve time); see bench/README.md."""
