# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
#
# all.tcl --
#
#	Runs tkuv's test files, each in its own interpreter process.
#	  tclsh tests/all.tcl ?tcltest options?       every file
#	  wish  tests/all.tcl -tk ?options?           only the Tk files (tk*.test)
#	  tclsh tests/all.tcl -valgrind ?options?     every file under valgrind;
#	      fails if valgrind reports an error or a lost block in tkuv
#	  tclsh tests/all.tcl -asan ?options?         every file in a tclsh with
#	      the ASan runtime preloaded from $TKUV_ASAN_PRELOAD
#	Exits non-zero when a test fails.

package require tcltest 2.5
namespace import ::tcltest::*

set testsDir [file dirname [file normalize [info script]]]
configure -testdir $testsDir -tmpdir [file join [pwd] tests-tmp]
file mkdir [file join [pwd] tests-tmp]

set tkOnly [expr {"-tk" in $argv}]
set underValgrind [expr {"-valgrind" in $argv}]
set underAsan [expr {"-asan" in $argv}]
set argv [lsearch -all -inline -not -regexp $argv {^-(tk|valgrind|asan)$}]

# Test files run in child interpreters: a wrapper may stand in front of them
# (valgrind, or the ASan preload); TKUV_INTERP tells it what to run.
set env(TKUV_INTERP) [info nameofexecutable]

if {$tkOnly} {
    configure -file tk*.test
    wm withdraw .
}
if {$underValgrind} {
    set logDir [file join [pwd] tests-tmp valgrind]
    file delete -force $logDir
    file mkdir $logDir
    set env(TKUV_VALGRIND_LOGS) $logDir
    set env(TKUV_WRAPPER) [file join $testsDir valgrind-run.sh]
}
if {$underAsan} {
    set env(TKUV_WRAPPER) [file join $testsDir asan-run.sh]
}
if {[info exists env(TKUV_WRAPPER)]} {
    interpreter $env(TKUV_WRAPPER)
}
configure {*}$argv
if {$tkOnly} {
    # Only Tk files run in wish, whatever -file also asked for.
    set pats [lsearch -all -inline [configure -file] tk*]
    configure -file [expr {[llength $pats] ? $pats : "no-tk-file-selected"}]
}

# tcltest's cleanupTests calls a bare `exit` (status 0) at the end of
# runAllTests when Tk is loaded and the shell is not interactive, so wish
# would never report a failure: it must believe it is interactive.
if {[info exists ::tk_version]} {
    testConstraint interactive 1
}
set failed [runAllTests]

if {$underValgrind} {
    # A report counts when one of its stacks goes through tkuv's library.
    set bad 0
    foreach log [glob -nocomplain -directory $logDir *.log] {
	set f [open $log]
	set text [read $f]
	close $f
	foreach block [regexp -all -inline {==\d+== (?:Invalid|Conditional|Use of|Mismatched|Syscall param|[0-9,]+ (?:\([^)]*\) )?bytes in [0-9,]+ blocks are definitely lost)[^\n]*(?:\n==\d+==  [^\n]*)*} $text] {
	    if {[regexp {lib(tcl9)?tkuv} $block] || [string match *tkuv*.c* $block]} {
		puts "valgrind ([file tail $log]):\n$block\n"
		incr bad
	    }
	}
    }
    puts "valgrind: [llength [glob -nocomplain -directory $logDir *.log]] logs,\
	    $bad reports in tkuv"
    if {$bad} {
	set failed 1
    }
}
exit [expr {$failed ? 1 : 0}]
