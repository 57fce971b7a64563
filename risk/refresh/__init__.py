"""Sources -> store on a schedule: where data comes from, the refresh run, the scheduler."""
