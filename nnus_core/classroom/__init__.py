"""Classroom: question sets, assignments, dashboard queries and the gradebook export."""
