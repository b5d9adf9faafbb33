"""Services of the main app (`mega g service <name> --app main`)."""
