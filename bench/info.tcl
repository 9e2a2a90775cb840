# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
#
# info.tcl -- one line for RESULTS.md: Tcl/Tk, libuv and poller versions.
package require tkuv
set info [tkuv::info]
set tk [expr {[catch {package require Tk} v] ? "no Tk" : "Tk $v"}]
puts "Tcl [info patchlevel], $tk, libuv [dict get $info libuv],\
      poller [dict get $info poller]"
exit 0
