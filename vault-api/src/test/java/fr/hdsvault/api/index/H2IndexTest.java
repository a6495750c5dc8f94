package fr.hdsvault.api.index;

import javax.sql.DataSource;

class H2IndexTest extends IndexContract {
    @Override
    DataSource dataSource() {
        return IndexDatabases.h2();
    }
}
