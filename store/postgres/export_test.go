package postgres

// Waiting is how many people Dispatch was asked for and the Queue has not
// yet inserted.
func Waiting(q *Queue) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.waiting)
}
