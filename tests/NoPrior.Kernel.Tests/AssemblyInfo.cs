// The Jupyter tests each start a kernel, and some a notebook server or Chromium as well; on a 2-core machine running
// them side by side (and beside the other test assemblies) starves timing-sensitive tests elsewhere in the solution.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
