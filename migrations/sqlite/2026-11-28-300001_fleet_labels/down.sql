DROP TABLE environment_labels;
ALTER TABLE tenants DROP COLUMN labels;
