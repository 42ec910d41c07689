package hrissync

// The deactivation budgets a Commit.Revoked names.
const (
	// BudgetVanished: the person is gone from the Source's full list, or
	// out of scope.
	BudgetVanished = "vanished"
	// BudgetTerminated: the record says the person left (a termination,
	// a contradiction read as one).
	BudgetTerminated = "terminated"
	// BudgetApproved: an operator let it pass a budget; it spends none.
	BudgetApproved = "approved"
)
