# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
#
# fuzz.tcl --
#
#	The command-surface fuzzer (issue 9). One run = one chunk of cases in
#	one process:
#	    tclsh fuzz.tcl -seed N -cases N -dir TMPDIR ?-verbose 1?
#	Every case is one generated call of a tkuv command or subcommand:
#	a well-formed call from a small grammar of the commands in doc/tkuv.n,
#	then, most of the time, mutated (words dropped, repeated, swapped or
#	replaced by odd values: huge, negative and non-numeric numbers, odd
#	option names, binary, empty, unbalanced and long strings, names of
#	closed and renamed handles). Callbacks record their events and
#	sometimes call commands on their own handle, close it, raise an error,
#	enter `update` or return odd values (guest ticks).
#
#	Checked for every case: the command returns TCL_OK, or TCL_ERROR with
#	an errorCode starting with TKUV. Accepted exceptions (counted apart):
#	Tcl's own "invalid command name" when the case calls the command of a
#	handle that is closed (or renamed away), and errors of Tcl's channel
#	layer on tkuv::socket channels (fconfigure, puts, close). Anything else
#	is printed as a finding. At the end every handle is closed and
#	tkuv::info must count 0 handles. Crashes, sanitizer reports, leaks and
#	hangs are for the driver (run.sh) to see.
#
#	Safety: network only on 127.0.0.1/::1 and only to this process's own
#	ports; files only under TMPDIR (the current directory); programs only
#	/bin/true, /bin/false and cat; no signal is sent except to those
#	children, and never one that stops them.
#
#	Deterministic: the same seed generates the same cases in the same
#	order. Which handles are still open when a case runs depends on I/O
#	timing, so a replay is usually, not always, exact; every finding is
#	printed with its command.

if {[info exists env(LD_PRELOAD)]} {
    # The sanitizer runtime is for this interpreter only, not for children.
    unset env(LD_PRELOAD)
}
package require tkuv

namespace eval ::fz {
    variable opt
    array set opt {-seed 1 -cases 1000 -dir "" -verbose 0}
    variable rng 1			;# main stream: generates the cases
    variable rng2 1			;# callback stream
    variable stats
    array set stats {cases 0 ok 0 tkuv 0 closedcmd 0 channel 0 findings 0
	events 0 bgerrors 0 actions 0 slow 0 children 0}
    variable findings {}
    variable dead {}			;# names of handles seen closed
    variable renamed 0
    variable depth 0			;# callback actions in progress
    variable chans {}			;# tkuv::socket channels
    variable ourPorts {tcp {} udp {}}	;# ports of our own listeners/sockets
    variable guestPipes {}		;# read ends offered to guests
    variable lastSeen {}		;# handle names seen on the last scan
    variable child ""			;# a child interp with tkuv loaded
    variable awaits 0			;# coroutines made by awaitCase
}

# ------------------------------------------------------------------ random

# Park-Miller minimal standard generator: same numbers on every platform.
proc ::fz::Next {var} {
    upvar #0 $var s
    set s [expr {($s * 48271) % 2147483647}]
}
proc ::fz::rnd {n} {
    expr {[Next ::fz::rng] % $n}
}
proc ::fz::chance {percent} {
    expr {[rnd 100] < $percent}
}
proc ::fz::pick {list} {
    lindex $list [rnd [llength $list]]
}
# The callbacks draw from their own stream, so that how many events arrive
# does not shift the main sequence.
proc ::fz::rnd2 {n} {
    expr {[Next ::fz::rng2] % $n}
}
proc ::fz::Seed {seed} {
    variable rng [expr {($seed % 2147483646) + 1}]
    variable rng2 [expr {(($seed * 7919 + 17) % 2147483646) + 1}]
    for {set i 0} {$i < 8} {incr i} {rnd 2; rnd2 2}
}

# ------------------------------------------------------------------ values

namespace eval ::fz {
    variable ints {0 1 -1 2 3 7 17 100 255 256 1024 65535 65536 65537
	2147483647 2147483648 -2147483648 -2147483649 4294967295 4294967296
	9223372036854775807 9223372036854775808 -9223372036854775808
	99999999999999999999999999 0x10 0o17 0b101 010 1e3 1.5 -0 +5 " 7"
	"7 " "" abc NaN Inf -Inf true no 1_000}
    variable odd [list "" " " "\t" "\n" "\0" "a\0b" "\xff\xfe\x00\x01" \
	"\u00e9t\u00e9" "\u2603" "\U0001F600" "a \{b" "\{" "\}" "\\" "\"" \
	{$x} {[set x]} {;} x abc -- - -x -command -COMMAND -comm -commandx \
	command {{}} {a b c} "[string repeat x 300]" \
	"[string repeat \u00fe 2000]" [string repeat "y " 50]]
    variable bools {0 1 yes no true false on off maybe 2 -1 ""}
    variable hosts {127.0.0.1 ::1 localhost 127.1 0:0:0:0:0:0:0:1
	::ffff:127.0.0.1}
    # Bad hosts that fail without a DNS query.
    variable badHosts [list "" "127.0.0.1\0x" "\0" [string repeat a 300]]
    variable groups {224.0.0.1 239.255.42.99 ff02::1 ff05::1:3 127.0.0.1
	224.0.0.256 ::1 ""}
    variable families {inet inet6 any INET inet4 "" unix}
    variable signals {SIGUSR1 USR1 usr1 SIGUSR2 SIGHUP HUP SIGINT SIGTERM
	SIGPIPE SIGCHLD SIGWINCH SIGALRM SIGURG SIGCONT SIGKILL SIGSTOP SIGSEGV
	SIGBUS SIGFPE SIGILL SIGTRAP SIGBREAK SIG USR3 SIGusr1 0 1 9 10 12 15 31
	32 33 34 64 65 127 128 -1 -10 99999999999}
    # Never sent to a child: they stop it instead of ending it.
    variable stopSignals {SIGSTOP STOP stop SIGTSTP TSTP tstp SIGTTIN TTIN
	ttin SIGTTOU TTOU ttou sigstop sigtstp sigttin sigttou 19 20 21 22}
    variable progs {/bin/true /bin/false cat true /bin/cat}
    variable modes {pipe ignore inherit PIPE pip "" stdout}
}

# An odd value of any kind.
proc ::fz::anyValue {} {
    variable ints
    variable odd
    switch [rnd 6] {
	0 - 1 { pick $ints }
	2 - 3 { pick $odd }
	4 { deadName }
	5 { liveName }
    }
}
proc ::fz::intOr {good} {
    variable ints
    if {[chance 60]} {
	return [pick $good]
    }
    pick $ints
}
proc ::fz::boolean {} {
    variable bools
    pick $bools
}
proc ::fz::host {} {
    variable hosts
    variable badHosts
    if {[chance 85]} {
	return [pick $hosts]
    }
    pick $badHosts
}
# A port: mostly one of ours (so connects reach only this process), else
# a refused or invalid one.
proc ::fz::port {kind} {
    variable ourPorts
    set mine [dict get $ourPorts $kind]
    if {[llength $mine] && [chance 60]} {
	return [pick $mine]
    }
    pick {1 0 -1 65536 70000 abc "" 1.5 0x1 99999999999 " 1"}
}
proc ::fz::bytes {} {
    switch [rnd 8] {
	0 { return "" }
	1 { return [binary format c* {0 1 2 255 128 10 13}] }
	2 { return "hello\n" }
	3 { return [string repeat [binary format c 0xAB] [expr {1 + [rnd 70000]}]] }
	4 { return "\u2603 not bytes" }
	5 { return [encoding convertto utf-8 "\u00e9\U0001F600"] }
	6 { return [string repeat "z" [rnd 3000]] }
	7 { return [anyValue] }
    }
}
# A file name in the temporary directory (the current directory), or an
# odd one that cannot leave it.
proc ::fz::path {{readOnly 0}} {
    variable opt
    set names [list f1 f2 d1 d1/f3 d1/d2 nosuch nosuch/f "" . .. "a\0b" \
	"sp ace" "\u00e9\u2603" [string repeat n 300] ./f1 d1/../f2]
    if {$readOnly} {
	lappend names /dev/null /proc/self/status / /nonexistent/x
    }
    set p [pick $names]
    if {[chance 20]} {
	set p [file join $opt(-dir) $p]
    }
    return $p
}
proc ::fz::callback {} {
    switch [rnd 12] {
	0 { return "" }
	1 { return "a \{b" }
	2 { return ::fz::noSuchCommand }
	3 { return [list ::fz::cb err] }
	4 - 5 { return [list ::fz::cb act] }
	6 { return [list ::fz::cb close] }
	7 { return [list ::fz::cb update] }
	8 { return [list ::fz::cb sleep] }
	default { return [list ::fz::cb quiet] }
    }
}

# ------------------------------------------------------------------ handles

# The handles of this interp, by scanning the ::tkuv namespace and our
# renamed ones: name -> type (the name without its number).
proc ::fz::handles {} {
    set d [dict create]
    foreach cmd [concat [info commands ::tkuv::*] [info commands ::fz::ren::*]] {
	if {[regexp {^::(?:tkuv|fz::ren)::(?:r\d+_)?([a-z]+?)\d+$} $cmd -> type]} {
	    dict set d $cmd $type
	}
    }
    return $d
}
proc ::fz::liveName {{type ""}} {
    set d [handles]
    if {$type ne ""} {
	set d [dict filter $d value $type]
    }
    if {[dict size $d] == 0} {
	return [deadName]
    }
    pick [lsort [dict keys $d]]
}
proc ::fz::deadName {} {
    variable dead
    if {[llength $dead] == 0} {
	return ::tkuv::timer999999
    }
    pick $dead
}
# Remember names that were open at the last scan and are gone now.
proc ::fz::noteDead {} {
    variable lastSeen
    variable dead
    set now [handles]
    foreach name $lastSeen {
	if {![dict exists $now $name]} {
	    lappend dead $name
	}
    }
    if {[llength $dead] > 50} {
	set dead [lrange $dead end-49 end]
    }
    set lastSeen [dict keys $now]
    return $now
}

# ------------------------------------------------------------------ cases

# One well-formed (or nearly) call, as a list of words.
proc ::fz::generate {} {
    set live [noteDead]
    if {[dict size $live] > 0 && [chance 45]} {
	set name [pick [lsort [dict keys $live]]]
	return [handleCase $name [dict get $live $name] rng]
    }
    if {[chance 4]} {
	return [awaitCase]
    }
    familyCase
}

# A request awaited in a coroutine of its own (tkuv::await): a family call
# (most of them are refused by tkuv::await, which is part of the point), or
# the exit of a process. The coroutine ends by itself, or is left waiting
# for cleanup to delete.
proc ::fz::awaitCase {} {
    variable awaits
    set co ::fz::await[incr awaits]
    if {[chance 20]} {
	return [list coroutine $co tkuv::await -exit \
		    [pick [list [liveName process] [deadName] [anyValue]]]]
    }
    list coroutine $co tkuv::await {*}[familyCase]
}

proc ::fz::familyCase {} {
    variable progs
    variable modes
    variable families
    variable signals
    variable ints
    variable opt
    switch [rnd 22] {
	0 - 1 {
	    set sub [pick {after after every cancel info info bogus ""}]
	    switch $sub {
		after { return [list tkuv::timer after [intOr {0 1 5 50 100000}] [callback]] }
		every { return [list tkuv::timer every [intOr {1 2 10 1000}] [callback]] }
		cancel { return [list tkuv::timer cancel [pick [list [liveName timer] [deadName] [anyValue]]]] }
		info {
		    if {[chance 50]} { return {tkuv::timer info} }
		    return [list tkuv::timer info [pick [list [liveName timer] [deadName] [anyValue]]]]
		}
		default { return [list tkuv::timer $sub] }
	    }
	}
	2 {
	    # Bounded: never a long sleep.
	    return [list tkuv::sleep [pick {0 1 -1 abc "" 1.5 -9223372036854775809 99999999999999999999 "1 2"}]]
	}
	3 {
	    set r [lindex [chan pipe] 0]
	    variable guestPipes
	    lappend guestPipes $r
	    set fd [string range $r 4 end]
	    set w [list tkuv::guest create]
	    foreach o [lshuffle {-fd -command}] {
		switch -- $o {
		    -fd { lappend w -fd [intOr [list $fd $fd $fd 0 1 2 -1 99999]] }
		    -command { lappend w -command [callback] }
		}
	    }
	    if {[chance 5]} { lappend w -iocp 5 }
	    return $w
	}
	4 - 5 {
	    set w [list tkuv::tcp connect [host] [port tcp]]
	    foreach o [lrange [lshuffle {-command -command -bind -family -nodelay -keepalive -readlimit}] 0 [rnd 4]] {
		switch -- $o {
		    -command { lappend w -command [callback] }
		    -bind { lappend w -bind [pick {127.0.0.1 ::1 127.0.0.2 abc ""}] }
		    -family { lappend w -family [pick $families] }
		    -nodelay { lappend w -nodelay [boolean] }
		    -keepalive { lappend w -keepalive [intOr {0 1 60}] }
		    -readlimit { lappend w -readlimit [intOr {1 100 1048576}] }
		}
	    }
	    return $w
	}
	6 {
	    set w [list tkuv::tcp listen [pick {0 0 0 -1 65536 abc}] -command [callback] -host [pick {127.0.0.1 ::1}]]
	    if {[chance 40]} { lappend w -backlog [intOr {0 1 128}] }
	    return $w
	}
	7 {
	    if {[chance 40]} {
		set w [list tkuv::socket -server [callback] -myaddr [pick {127.0.0.1 ::1}] [pick {0 0 -1 abc}]]
	    } else {
		set w [list tkuv::socket]
		if {[chance 30]} { lappend w -myaddr [pick {127.0.0.1 ::1 ""}] }
		if {[chance 20]} { lappend w -myport [pick {0 -1 abc 70000}] }
		if {[chance 70]} { lappend w -async }
		lappend w [host] [port tcp]
	    }
	    return $w
	}
	8 {
	    set w [list tkuv::udp open -host [pick {127.0.0.1 ::1}]]
	    foreach o [lrange [lshuffle {-port -reuseaddr -ipv6only -recvsize -maxpending}] 0 [rnd 3]] {
		switch -- $o {
		    -port { lappend w -port [pick {0 0 -1 65536 abc}] }
		    -reuseaddr - -ipv6only { lappend w $o [boolean] }
		    -recvsize { lappend w -recvsize [intOr {1 100 65536 65537}] }
		    -maxpending { lappend w -maxpending [intOr {1 64 1048576}] }
		}
	    }
	    lappend w -command [callback]
	    return $w
	}
	9 - 10 {
	    set argv [list [pick $progs]]
	    if {[chance 30]} { lappend argv [pick {-n "" x /dev/null nosuch "\u00e9"}] }
	    if {[chance 5]} { set argv [pick {"" "a \{b" /nonexistent/prog . ./f1}] }
	    set w [list tkuv::spawn $argv]
	    foreach o [lrange [lshuffle {-command -command -cwd -env -stdin -stdout -stderr -detached -readlimit}] 0 [rnd 5]] {
		switch -- $o {
		    -command { lappend w -command [callback] }
		    -cwd { lappend w -cwd [pick [list . d1 nosuch "" "a\0b" $opt(-dir)]] }
		    -env { lappend w -env [pick [list {} {A 1} {A=B 1} {"" x} "odd" [list X "a\0b"] [list PATH /bin:/usr/bin LANG C]]] }
		    -stdin - -stdout - -stderr { lappend w $o [pick $modes] }
		    -detached { lappend w -detached [boolean] }
		    -readlimit { lappend w -readlimit [intOr {1 10 1048576}] }
		}
	    }
	    return $w
	}
	11 {
	    return [list tkuv::signal [pick $signals] [callback]]
	}
	12 {
	    set w [list tkuv::watch [path 1]]
	    if {[chance 30]} { lappend w -recursive [boolean] }
	    lappend w [callback]
	    return $w
	}
	13 {
	    if {[chance 30]} {
		return [list tkuv::resolve -reverse [pick {127.0.0.1 ::1 localhost "" abc 127.0.0.256}] [callback]]
	    }
	    set w [list tkuv::resolve [host]]
	    if {[chance 40]} { lappend w -family [pick $families] }
	    if {[chance 40]} { lappend w -port [pick {0 80 http 65535 65536 -1 "" "a b" nosuchservice}] }
	    lappend w [callback]
	    return $w
	}
	14 - 15 {
	    set sub [pick {read write append stat scandir mkdir unlink read write bogus}]
	    switch $sub {
		read {
		    set w [list tkuv::fs read [path 1]]
		    if {[chance 30]} { lappend w -offset [intOr {0 1 100 4194304}] }
		    if {[chance 30]} { lappend w -length [intOr {0 1 100 4194305}] }
		}
		write {
		    set w [list tkuv::fs write [path] [bytes]]
		    if {[chance 30]} { lappend w -offset [intOr {0 1 100 4611686018427387904}] }
		}
		append { set w [list tkuv::fs append [path] [bytes]] }
		mkdir {
		    set w [list tkuv::fs mkdir [path]]
		    if {[chance 40]} { lappend w -mode [intOr {755 0755 0o755 7777 8 9 10000 -1 rwx}] }
		}
		bogus { set w [list tkuv::fs [pick {delete READ "" -read}] [path]] }
		default { set w [list tkuv::fs $sub [path 1]] }
	    }
	    lappend w [callback]
	    return $w
	}
	16 {
	    if {[chance 50]} {
		return [lrange [list tkuv::handles [pick {timer tcp udp socket
		    fs guest bogus ""}] [anyValue]] 0 [rnd 3]]
	    }
	    return [lrange [list tkuv::info [anyValue]] 0 [rnd 2]]
	}
	17 {
	    # A family command with nothing, or an unknown subcommand.
	    set w [list [pick {tkuv::timer tkuv::guest tkuv::tcp tkuv::udp tkuv::spawn tkuv::signal tkuv::watch tkuv::resolve tkuv::fs tkuv::socket}]]
	    if {[chance 70]} { lappend w [pick [list [anyValue] create open connect listen -server -reverse -async]] }
	    return $w
	}
	18 {
	    # Calls through the name of a closed handle, or the tkuv::timer
	    # subcommands given one.
	    set d [deadName]
	    return [pick [list [list $d info] [list $d close] [list $d cancel] [list tkuv::timer cancel $d] [list tkuv::timer info $d]]]
	}
	20 {
	    set w [list tkuv::fdlimit]
	    # Small values too: tkuv refuses a limit the process cannot live with.
	    if {[chance 70]} { lappend w [intOr {4096 20000 1024 0 1 5 64 256 300 400 2147483648}] }
	    return $w
	}
	21 {
	    variable child
	    set w [list [pick {tkuv::install tkuv::uninstall}]]
	    if {[chance 60]} { lappend w [pick [list $child $child {} nosuch [anyValue]]] }
	    return $w
	}
	19 {
	    if {[chance 10]} {
		# Deleting the namespace of renamed handles closes them all.
		return [list namespace delete ::fz::ren]
	    }
	    return [renameCase]
	}
    }
}

# rename: to a name of ours (the handle must keep working) or to {} (which
# closes it).
proc ::fz::renameCase {} {
    variable renamed
    set live [handles]
    if {[dict size $live] == 0} {
	return [list tkuv::info]
    }
    set name [pick [lsort [dict keys $live]]]
    set type [dict get $live $name]
    if {[chance 50]} {
	return [list rename $name {}]
    }
    namespace eval ::fz::ren {}
    return [list rename $name ::fz::ren::r[incr renamed]_$type[incr renamed]]
}

# A subcommand of a live handle. `stream` is the random stream to draw from.
proc ::fz::handleCase {name type stream} {
    if {$stream eq "rng2"} {
	# Callbacks: swap the streams for the duration.
	set saved $::fz::rng
	set ::fz::rng $::fz::rng2
	try {
	    return [handleCase $name $type rng]
	} finally {
	    set ::fz::rng2 $::fz::rng
	    set ::fz::rng $saved
	}
    }
    variable signals
    variable stopSignals
    variable groups
    switch $type {
	timer { set subs {info info cancel} }
	guest { set subs {info wake wake close} }
	tcp {
	    set subs {write write write info pause resume shutdown configure configure close}
	}
	tcpserver { set subs {info configure close} }
	udp { set subs {send send send info configure configure join leave close} }
	process {
	    set subs {write write closestdin kill pid info pause resume configure close}
	}
	signal - watch { set subs {info close} }
	resolve - fs { set subs {cancel} }
	socket { set subs {channel channel close} }
	default { set subs {info close} }
    }
    if {[chance 8]} {
	set sub [pick {"" bogus CLOSE cl -info info2}]
    } elseif {[chance 12]} {
	# The subcommands every handle shares (tkuvHandle.c), with option
	# names of every family: read back, changed, or refused.
	set opt [pick {-command -myaddr -myport -port -host -bind -family
	    -readlimit -nodelay -ttl -fd -cwd -env -offset -recursive -c -
	    -bogus ""}]
	return [pick [list [list $name cget $opt] [list $name configure] \
	    [list $name configure $opt] [list $name configure $opt [anyValue]] \
	    [list $name configure -command [callback]] [list $name info] \
	    [list $name cget]]]
    } else {
	set sub [pick $subs]
    }
    set w [list $name $sub]
    switch $type:$sub {
	tcp:write - process:write { lappend w [bytes] }
	tcp:configure {
	    foreach o [lrange [lshuffle {-command -nodelay -keepalive -readlimit -bogus}] 0 [rnd 3]] {
		switch -- $o {
		    -command { lappend w -command [callback] }
		    -nodelay { lappend w -nodelay [boolean] }
		    -keepalive { lappend w -keepalive [intOr {0 1 30}] }
		    -readlimit { lappend w -readlimit [intOr {1 100 1048576}] }
		    -bogus { lappend w [pick {-bogus -Command -}] [anyValue] }
		}
	    }
	    if {[chance 15]} { set w [lrange $w 0 end-1] }
	}
	tcpserver:configure {
	    if {[chance 70]} { lappend w -command [callback] }
	}
	process:configure {
	    if {[chance 50]} { lappend w -command [callback] }
	    if {[chance 50]} { lappend w -readlimit [intOr {1 100 1048576}] }
	}
	process:kill {
	    if {[chance 80]} {
		set sig [pick $signals]
		if {$sig in $stopSignals} { set sig TERM }
		lappend w $sig
	    }
	}
	udp:send {
	    lappend w [pick {127.0.0.1 ::1 127.0.0.1 localhost "" abc 255.255.255.255 ::ffff:127.0.0.1}] [port udp] [bytes]
	}
	udp:configure {
	    foreach o [lrange [lshuffle {-broadcast -ttl -multicast-ttl -multicast-loop -multicast-interface -recvsize -maxpending -bogus}] 0 [rnd 3]] {
		switch -- $o {
		    -broadcast - -multicast-loop { lappend w $o [boolean] }
		    -ttl - -multicast-ttl { lappend w $o [intOr {0 1 64 255 256}] }
		    -multicast-interface { lappend w $o [pick {127.0.0.1 "" ::% ::%lo abc ::1}] }
		    -recvsize { lappend w $o [intOr {1 65536}] }
		    -maxpending { lappend w $o [intOr {1 1048576}] }
		    -bogus { lappend w -bogus }
		}
	    }
	    if {[chance 15]} { set w [lrange $w 0 end-1] }
	}
	udp:join - udp:leave {
	    lappend w [pick $groups]
	    lappend w [pick {127.0.0.1 127.0.0.1 ::1 abc ::%lo}]
	}
    }
    return $w
}

# ------------------------------------------------------------------ mutation

proc ::fz::mutate {words} {
    if {[lindex $words 0] eq "coroutine" && [llength $words] > 3} {
	# An awaitCase: the awaited call is mutated, never the coroutine
	# around it (Tcl's own errors there would say nothing about tkuv).
	return [list {*}[lrange $words 0 2] {*}[mutate [lrange $words 3 end]]]
    }
    set n [expr {1 + [rnd 3]}]
    for {set i 0} {$i < $n} {incr i} {
	set len [llength $words]
	# Word 0 stays mostly (it names the command).
	set at [expr {$len > 1 ? 1 + [rnd [expr {$len - 1}]] : 0}]
	switch [rnd 7] {
	    0 { set words [lreplace $words $at $at] }
	    1 { set words [linsert $words $at [anyValue]] }
	    2 { lset words $at [anyValue] }
	    3 { lappend words [anyValue] }
	    4 { set words [linsert $words $at [lindex $words $at]] }
	    5 { set words [lrange $words 0 [rnd [expr {$len + 1}]]] }
	    6 {
		set other [expr {$len > 1 ? 1 + [rnd [expr {$len - 1}]] : 0}]
		set a [lindex $words $at]
		lset words $at [lindex $words $other]
		lset words $other $a
	    }
	}
	if {[llength $words] == 0} {
	    set words [list tkuv::info]
	}
    }
    return $words
}

# Rewrites what would reach outside this process, its ports, its temporary
# directory or its harmless children. Returns the words to run.
proc ::fz::confine {words} {
    variable progs
    variable hosts
    variable badHosts
    variable stopSignals
    variable ourPorts
    variable opt
    set cmd [lindex $words 0]
    if {$cmd eq "coroutine" && [lindex $words 2] eq "tkuv::await"
	    && [llength $words] > 3 && [lindex $words 3] ne "-exit"} {
	# The awaited call is confined like the same call made directly.
	return [list {*}[lrange $words 0 2] {*}[confine [lrange $words 3 end]]]
    }
    set type ""
    regexp {^::(?:tkuv|fz::ren)::(?:r\d+_)?([a-z]+?)\d+$} $cmd -> type
    set safeHost [concat $hosts $badHosts]
    switch -- $cmd {
	tkuv::spawn {
	    # The program: one of ours, or one that does not exist.
	    set argv [lindex $words 1]
	    if {![catch {lindex $argv 0} prog] && [llength $words] > 1
		    && $prog ni $progs && ![string match /nonexistent/* $prog]
		    && $prog ni {"" . ./f1}} {
		lset words 1 [lreplace $argv 0 0 /bin/true]
	    }
	}
	tkuv::tcp - tkuv::resolve - tkuv::socket - tkuv::udp {
	    # Any word that could be taken for a host name: a safe one.
	    for {set i 1} {$i < [llength $words]} {incr i} {
		set word [lindex $words $i]
		if {[string is double -strict $word]
			|| ([string match -* $word] && ![string match *\0* $word])
			|| $word in $safeHost
			|| [string match {::fz::cb *} $word]
			|| $word in {connect listen open http inet inet6 any
			    INET inet4 unix nosuchservice}} {
		    continue
		}
		lset words $i 127.0.0.1
	    }
	    # The host of a connect, and the address to bind, by position:
	    # numbers are addresses there too (inet_aton takes 16777216).
	    set at {}
	    if {$cmd eq "tkuv::tcp" && [lindex $words 1] eq "connect"} {
		lappend at 2
	    } elseif {$cmd eq "tkuv::socket" && "-server" ni $words} {
		lappend at [expr {[llength $words] - 2}]
	    }
	    foreach o {-bind -myaddr -host} {
		foreach i [lsearch -all -exact $words $o] {
		    lappend at [expr {$i + 1}]
		}
	    }
	    foreach i $at {
		if {$i > 0 && $i < [llength $words]
			&& [lindex $words $i] ni $safeHost} {
		    lset words $i 127.0.0.1
		}
	    }
	    # Any number that could be taken for a port to reach or to bind:
	    # one of ours, 0 (binding) or 1 (refused).
	    set kind [expr {$cmd eq "tkuv::udp" ? "udp" : "tcp"}]
	    set sub [lindex $words 1]
	    set at {}
	    if {$cmd eq "tkuv::tcp" && $sub eq "connect"} {
		lappend at 3 1
	    } elseif {$cmd eq "tkuv::tcp" && $sub eq "listen"} {
		lappend at 2 0
	    } elseif {$cmd eq "tkuv::socket"} {
		lappend at [expr {[llength $words] - 1}] [expr {"-server" in $words ? 0 : 1}]
	    }
	    foreach o {-port -myport} {
		if {$cmd ne "tkuv::resolve"} {
		    foreach i [lsearch -all -exact $words $o] {
			lappend at [expr {$i + 1}] 0
		    }
		}
	    }
	    foreach {i safe} $at {
		set word [lindex $words $i]
		if {[string is double -strict $word]
			&& ![catch {expr {int($word)}} v] && $v > 1 && $v <= 65535
			&& $v ni [dict get $ourPorts $kind]} {
		    lset words $i $safe
		}
	    }
	    if {$cmd in {tkuv::tcp tkuv::udp tkuv::socket}
		    && ([lindex $words 1] in {listen open} || "-server" in $words)} {
		# Listen only on loopback: the last -host/-myaddr wins.
		lappend words [expr {$cmd eq "tkuv::socket" ? "-myaddr" : "-host"}] 127.0.0.1
		if {$cmd eq "tkuv::socket"} {
		    # The port stays last.
		    set words [linsert [lrange $words 0 end-3] end {*}[lrange $words end-1 end] [lindex $words end-2]]
		}
	    }
	}
	tkuv::fs {
	    set sub [lindex $words 1]
	    for {set i 2} {$i < [llength $words]} {incr i} {
		set word [lindex $words $i]
		if {[string match ~* $word]} {
		    lset words $i ./$word
		} elseif {[string match /* $word]
			&& ![string match $opt(-dir)* $word]
			&& ($sub ni {read stat scandir}
			    || $word ni {/dev/null /proc/self/status / /nonexistent/x})} {
		    lset words $i ./[string trimleft $word /]
		}
	    }
	}
	tkuv::sleep {
	    set ms [lindex $words 1]
	    if {![catch {expr {$ms > 5}} big] && $big} {
		lset words 1 1
	    }
	}
    }
    switch -- $type {
	process {
	    if {[lindex $words 1] eq "kill"} {
		for {set i 2} {$i < [llength $words]} {incr i} {
		    if {[lindex $words $i] in $stopSignals} {
			lset words $i TERM
		    }
		}
	    }
	}
	udp {
	    set sub [lindex $words 1]
	    if {$sub eq "send"} {
		# Only to loopback, and only to our own ports (or port 1).
		set h [lindex $words 2]
		if {[string match 2* $h] || [string match -nocase ff* $h]
			|| ($h ni $safeHost && $h ni {abc ::ffff:127.0.0.1}
			    && ![catch {llength $h} l] && $l == 1)} {
		    lset words 2 127.0.0.1
		}
		set p [lindex $words 3]
		if {[string is integer -strict $p] && $p ni [dict get $ourPorts udp]} {
		    lset words 3 1
		}
	    } elseif {$sub in {join leave}} {
		# Memberships only on the loopback interface.
		if {[llength $words] < 4 || [lindex $words 3] eq ""} {
		    set words [lreplace $words 3 3 127.0.0.1]
		}
	    }
	}
    }
    return $words
}

# ------------------------------------------------------------------ running

# runCase words context -- runs one case and checks how it failed.
proc ::fz::runCase {words context} {
    variable stats
    variable chans
    set words [confine $words]
    set start [clock microseconds]
    set code [catch {uplevel #0 $words} result opts]
    set us [expr {[clock microseconds] - $start}]
    incr stats(cases)
    if {$us > 3000000} {
	incr stats(slow)
	finding "slow case ([expr {$us / 1000}] ms)" $words $code $result $opts $context
    }
    set cmd [lindex $words 0]
    set in {}
    variable child
    if {$cmd eq $child && [lindex $words 1] eq "eval"} {
	# A case run in the child: judged by the child's command.
	set in [list interp eval $child]
	set cmd [lindex $words 2 0]
    }
    if {$code == 0} {
	incr stats(ok)
	variable okBy
	set k [expr {[string match ::* $cmd] ? "[regsub {\d+$} $cmd {}] [lindex $words 1]" : [lrange $words 0 1]}]
	incr okBy($k)
	if {$in ne ""} {
	    return
	}
	if {$cmd eq "tkuv::socket" && $result in [chan names]} {
	    newChannel $result
	} elseif {[regexp {^::tkuv::(tcpserver|udp)\d+$} $result -> kind]} {
	    notePort $result $kind
	}
	return
    }
    if {$code == 1} {
	set ec [dict get $opts -errorcode]
	if {[lindex $ec 0] eq "TKUV" && [llength $ec] >= 3 && $result ne ""} {
	    incr stats(tkuv)
	    return
	}
	if {[string match "invalid command name *" $result]
		&& [lrange $ec 0 2] eq {TCL LOOKUP COMMAND}
		&& [expr {$in eq "" ? [info commands $cmd]
			: [interp eval $child [list info commands $cmd]]}] eq ""} {
	    incr stats(closedcmd)
	    return
	}
	if {$cmd in {fconfigure puts flush close chan gets read fileevent}} {
	    incr stats(channel)
	    return
	}
	if {$cmd in {rename namespace}} {
	    # rename of a name that closed meanwhile: Tcl's own error.
	    incr stats(closedcmd)
	    return
	}
    }
    finding "error not TKUV" $words $code $result $opts $context
}

proc ::fz::finding {what words code result opts context} {
    variable stats
    variable findings
    incr stats(findings)
    set shown {}
    foreach w $words {
	if {[string length $w] > 60} {
	    set w "[string range $w 0 59]...([string length $w] chars)"
	}
	lappend shown $w
    }
    set ec [expr {[dict exists $opts -errorcode] ? [dict get $opts -errorcode] : ""}]
    lappend findings [format "FINDING %s (case %d, %s): %s\n    code %d errorCode {%s}: %s" \
	$what $stats(cases) $context $shown $code \
	[string range $ec 0 200] [string range $result 0 300]]
}

proc ::fz::notePort {handle kind} {
    variable ourPorts
    if {[catch {dict get [$handle info] local} local]} {
	if {[catch {dict get [$handle info] port} p]} {
	    return
	}
    } else {
	set p [lindex $local 1]
    }
    set key [expr {$kind eq "udp" ? "udp" : "tcp"}]
    set l [dict get $ourPorts $key]
    lappend l $p
    dict set ourPorts $key [lrange $l end-9 end]
}

proc ::fz::newChannel {chan} {
    variable chans
    variable ourPorts
    catch {fconfigure $chan -blocking 0}
    lappend chans $chan
    if {![catch {fconfigure $chan -sockname} sn] && [llength $sn] == 3} {
	# A server channel: its port is one of ours.
	if {[catch {fconfigure $chan -peername}]} {
	    set l [dict get $ourPorts tcp]
	    lappend l [lindex $sn 2]
	    dict set ourPorts tcp [lrange $l end-9 end]
	}
    }
}

# A channel case: Tcl's channel commands on a tkuv::socket channel.
proc ::fz::channelCase {} {
    variable chans
    set live [lmap c $chans {expr {$c in [chan names] ? $c : [continue]}}]
    set chans $live
    if {[llength $live] == 0} {
	return [list tkuv::info]
    }
    set c [pick $live]
    pick [list \
	[list fconfigure $c] \
	[list fconfigure $c -error] \
	[list fconfigure $c -peername] \
	[list fconfigure $c -blocking 0] \
	[list fconfigure $c -bogus 1] \
	[list fconfigure $c -translation binary] \
	[list puts -nonewline $c [bytes]] \
	[list flush $c] \
	[list read $c 100] \
	[list gets $c] \
	[list chan close $c write] \
	[list close $c] \
	[list fileevent $c readable [list ::fz::chanReady $c]] \
	[list fileevent $c writable [list ::fz::chanReady $c]]]
}
proc ::fz::chanReady {c} {
    variable stats
    incr stats(events)
    if {$c ni [chan names]} {
	return
    }
    if {[rnd2 3] == 0} {
	catch {close $c}
    } else {
	catch {read $c}
	if {[catch {eof $c} e] || $e} {
	    catch {close $c}
	}
    }
}

# The callback of every handle the fuzzer makes.
proc ::fz::cb {tag handle event args} {
    variable stats
    variable depth
    variable chans
    incr stats(events)
    if {$event eq "accept"} {
	# New connections report here until configured otherwise.
    }
    if {![string match ::* $handle] && $handle in [chan names]} {
	# tkuv::socket -server: {*}cmd chan addr port.
	newChannel $handle
	if {$tag eq "err"} {
	    error "deliberate callback error"
	}
	return
    }
    switch $tag {
	err { error "deliberate callback error" }
	close {
	    if {[rnd2 2]} { catch {rename $handle {}} }
	}
	update {
	    if {$depth < 2} {
		incr depth
		try { update } finally { incr depth -1 }
	    }
	}
	sleep {
	    # A nested wait inside a callback.
	    if {$depth < 2} {
		incr depth
		try { tkuv::sleep [rnd2 3] } finally { incr depth -1 }
	    }
	}
	act {
	    if {$depth < 3 && [info commands $handle] ne ""} {
		incr depth
		incr stats(actions)
		try {
		    set type ""
		    regexp {::(?:tkuv|fz::ren)::(?:r\d+_)?([a-z]+?)\d+$} $handle -> type
		    set words [handleCase $handle $type rng2]
		    if {[rnd2 3] == 0} {
			set saved $::fz::rng
			set ::fz::rng $::fz::rng2
			set words [mutate $words]
			set ::fz::rng2 $::fz::rng
			set ::fz::rng $saved
		    }
		    runCase $words "in a $event callback"
		} finally {
		    incr depth -1
		}
	    }
	}
    }
    if {$event eq "tick"} {
	# A guest's tick: the timeout for the next one.
	return [lindex {-1 -1 0 5 100 abc "" 99999999999 -99999999999 2147483648 1.5} [rnd2 11]]
    }
    return
}

proc ::fz::bgerror {msg opts} {
    variable stats
    variable opt
    incr stats(bgerrors)
    if {$opt(-verbose)} {
	puts stderr "bgerror: $msg\n[dict get $opts -errorinfo]"
    }
}

# Bounds the resources a chunk holds: handles, children, descriptors.
proc ::fz::bound {} {
    variable guestPipes
    variable chans
    set live [handles]
    set procs [dict keys [dict filter $live value process]]
    if {[llength $procs] > 6} {
	foreach p [lrange $procs 0 end-4] {
	    catch {rename $p {}}
	}
    }
    if {[dict size $live] > 120} {
	foreach name [lrange [lsort [dict keys $live]] 0 60] {
	    catch {rename $name {}}
	}
    }
    if {[llength $guestPipes] > 40} {
	# Pipes whose guests are gone (or that never got one).
	set keep {}
	set watched [lmap g [dict keys [dict filter $live value guest]] {
	    expr {[catch {dict get [$g info] waitable} fd] ? [continue] : $fd}
	}]
	foreach r $guestPipes {
	    if {[string range $r 4 end] in $watched} {
		lappend keep $r
	    } else {
		catch {close $r}
	    }
	}
	set guestPipes $keep
    }
    if {[llength $chans] > 30} {
	foreach c [lrange $chans 0 14] {
	    catch {close $c}
	}
	set chans [lrange $chans 15 end]
    }
}

# Lets queued events run: `update`, and now and then a short wait.
proc ::fz::pump {ms} {
    if {$ms == 0} {
	update
	return
    }
    set ::fz::tick 0
    set id [after $ms {set ::fz::tick 1}]
    vwait ::fz::tick
    after cancel $id
}

# Closes everything; the handle count must come back to 0.
proc ::fz::cleanup {} {
    variable chans
    variable guestPipes
    variable child
    if {$child ne "" && [interp exists $child]} {
	interp delete $child
    }
    foreach c $chans {
	catch {close $c}
    }
    foreach co [info commands ::fz::await*] {
	catch {rename $co {}}
    }
    foreach name [dict keys [handles]] {
	catch {rename $name {}}
    }
    foreach r $guestPipes {
	catch {close $r}
    }
    set deadline [expr {[clock milliseconds] + 10000}]
    while {[clock milliseconds] < $deadline} {
	pump 10
	foreach name [dict keys [handles]] {
	    catch {rename $name {}}
	}
	foreach c [chan names] {
	    if {![string match std* $c]} {
		catch {close $c}
	    }
	}
	if {[dict get [tkuv::info] handles] == 0} {
	    break
	}
    }
    return [dict get [tkuv::info] handles]
}

# A case in a child interp that has tkuv too: a family command (its handles
# are the child's own, with a small callback of the child's), or deleting
# the child with whatever handles and queued events it has.
proc ::fz::childCase {} {
    variable child
    variable stats
    if {$child eq "" || ![interp exists $child]} {
	set child [interp create]
	$child eval [list set auto_path $::auto_path]
	$child eval {
	    package require tkuv
	    namespace eval ::fz {}
	    proc ::fz::cb {tag handle event args} {
		switch $tag {
		    err { error "deliberate callback error" }
		    close {
			# Sometimes the whole interp goes, from inside its
			# own callback.
			if {[incr ::closes] % 5 == 0} {
			    ::fz::deleteMe
			} else {
			    catch {rename $handle {}}
			}
		    }
		    act { catch {$handle info} }
		    update { update }
		}
		if {$event eq "tick"} {
		    return 5
		}
	    }
	    interp bgerror {} {apply {args {incr ::bgerrors}}}
	}
	interp alias $child ::fz::deleteMe {} interp delete $child
	incr stats(children)
    }
    if {[chance 8]} {
	return [list interp delete $child]
    }
    set words [familyCase]
    if {[lindex $words 0] ni {rename namespace} && [chance 50]} {
	set words [mutate $words]
    }
    return [list $child eval [confine $words]]
}

proc ::fz::main {argv} {
    variable opt
    variable stats
    variable findings
    array set opt $argv
    if {$opt(-dir) eq ""} {
	set opt(-dir) [file normalize [pwd]]
    }
    cd $opt(-dir)
    file mkdir d1 d1/d2
    foreach f {f1 f2 d1/f3} {
	set ch [open $f w]
	puts $ch "some text"
	close $ch
    }
    namespace eval ::fz::ren {}
    interp bgerror {} ::fz::bgerror
    Seed $opt(-seed)
    for {set i 0} {$i < $opt(-cases)} {incr i} {
	if {[chance 6]} {
	    set words [channelCase]
	} elseif {[chance 5]} {
	    set words [childCase]
	} else {
	    set words [generate]
	}
	# Not mutated: Tcl's own rename, interp and namespace (a stray {}
	# would delete the global namespace).
	if {[lindex $words 0] ni {rename interp namespace}
		&& ![string match interp* [lindex $words 0]]
		&& [chance 55]} {
	    set words [mutate $words]
	}
	if {$opt(-verbose)} {
	    puts stderr "case $i: [string range $words 0 200]"
	}
	runCase $words "top level"
	if {$i % 4 == 3} {
	    pump 0
	}
	if {$i % 25 == 24} {
	    bound
	    pump 10
	}
    }
    set left [cleanup]
    if {$left != 0} {
	incr stats(findings)
	lappend findings "FINDING $left handles still open after closing everything"
    }
    # A child with -stdout inherit may have left a line unfinished.
    puts ""
    foreach f $findings {
	puts $f
    }
    if {$opt(-verbose)} {
	variable okBy
	foreach k [lsort [array names okBy]] {
	    puts stderr [format "  %6d ok: %s" $okBy($k) $k]
	}
    }
    puts [format "fuzz: seed %d cases %d ok %d tkuv-errors %d closed-cmd %d channel %d events %d actions %d bgerrors %d interps %d slow %d findings %d" \
	$opt(-seed) $stats(cases) $stats(ok) $stats(tkuv) $stats(closedcmd) \
	$stats(channel) $stats(events) $stats(actions) $stats(bgerrors) \
	$stats(children) $stats(slow) $stats(findings)]
    flush stdout
    return [expr {$stats(findings) ? 1 : 0}]
}

# lshuffle is not in Tcl 8.6: a Fisher-Yates shuffle on the main stream.
proc ::fz::lshuffle {list} {
    for {set i [expr {[llength $list] - 1}]} {$i > 0} {incr i -1} {
	set j [rnd [expr {$i + 1}]]
	set t [lindex $list $i]
	lset list $i [lindex $list $j]
	lset list $j $t
    }
    return $list
}

exit [::fz::main $argv]
