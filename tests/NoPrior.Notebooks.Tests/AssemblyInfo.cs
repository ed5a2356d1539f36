// Engine tests run notebook sessions in this process, and a session sets the process-wide current directory to its
// notebook's folder while a cell runs (the .NET Interactive semantics notebooks rely on for relative paths). Run side by
// side, one test restored the directory another had set and then deleted, and every later test failed in GetCwd
// (seen in a full run: 48 failures after the first). One test at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
