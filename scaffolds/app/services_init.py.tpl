"""Services of the {{ snake }} app (`mega g service <name> --app {{ snake }}`)."""
