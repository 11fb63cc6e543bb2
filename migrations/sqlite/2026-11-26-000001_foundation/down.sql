DROP TABLE api_tokens;
DROP TABLE stacks;
DROP TABLE environment_configs;
DROP TABLE tenants;
