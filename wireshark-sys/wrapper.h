/* The headers the bindings are generated from. */
#include <wireshark.h>
#include <epan/packet.h>
#include <epan/proto.h>
#include <epan/expert.h>
#include <epan/column-utils.h>
#include <epan/tap.h>
#include <epan/stat_tap_ui.h>
#include <epan/epan.h>
#include <wiretap/wtap.h>
#include <wiretap/wtap_opttypes.h>
#include "src/helpers.h"
#include "src/wtap_helpers.h"
