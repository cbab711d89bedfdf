//! Database connectors for DataGenie: one file per engine, all behind datagenie_core::connector::Connector
