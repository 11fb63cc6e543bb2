DROP TABLE drift_resources;
DROP TABLE drift_checks;
