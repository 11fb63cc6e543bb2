DROP TABLE operation_plans;
