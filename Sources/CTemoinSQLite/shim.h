#ifndef CTEMOIN_SQLITE_H
#define CTEMOIN_SQLITE_H
#include <sqlite3.h>
#endif
