"""The main app: its controllers, models, jobs and services live in this package."""
