// The allocation clause measures the whole process's managed allocations (GC.GetTotalAllocatedBytes) and the C heap:
// tests of this assembly run one at a time so that one test's work is not charged to another's execution.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
