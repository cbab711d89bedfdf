-- Spreadsheets uploaded to the server (seed 000's file_info): the file a connection reads, and the file a question
-- was asked of. A file connection keeps db_type 'sqlite' — what its loaded table is queried as — and is told apart
-- by its file_info (the API reports its engine as 'file'); its connection_config is the stored file's path.
ALTER TABLE database_connections ADD COLUMN file_info TEXT CHECK (file_info IS NULL OR json_valid(file_info));
ALTER TABLE query_history ADD COLUMN file_info TEXT CHECK (file_info IS NULL OR json_valid(file_info));
