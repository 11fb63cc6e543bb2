DROP TABLE stack_settings;
