# Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
#
# soak.tcl --
#
#	Sourced by the soak tests (tests/soak/*.test, run by `make soak`):
#	the run's size, RSS sampling, and the flatness check.
#
#	TKUV_SOAK_MESSAGES  messages per transport (default 1,000,000)
#	TKUV_SOAK_HANDLES   handles created and closed (default 100,000)

source [file join [file dirname [file dirname [file normalize [info script]]]] \
	constraints.tcl]

namespace eval ::soak {
    variable messages [expr {[info exists ::env(TKUV_SOAK_MESSAGES)]
	    ? $::env(TKUV_SOAK_MESSAGES) : 1000000}]
    variable handles [expr {[info exists ::env(TKUV_SOAK_HANDLES)]
	    ? $::env(TKUV_SOAK_HANDLES) : 100000}]
    variable samples 20		;# RSS samples over a run (plus one at the start)
    variable warmup 0.25	;# share of the run before RSS must be flat
    variable tolerance 0.05	;# +-5% of the first sample after warm-up
}

testConstraint procStatus [file readable /proc/self/status]

# soak::rss ?pid? -- resident set size in KiB
proc ::soak::rss {{pid self}} {
    set f [open /proc/$pid/status]
    set text [read $f]
    close $f
    regexp -line {^VmRSS:\s+(\d+)} $text -> kib
    return $kib
}

# soak::sampler total -- a fresh series for a run of `total` units; then
# soak::progress done adds a sample each time another 1/samples is done.
proc ::soak::sampler {total} {
    variable samples
    variable series [list [rss]]
    variable step [expr {max(1, $total / $samples)}]
    variable nextSample $step
}
proc ::soak::progress {done} {
    variable nextSample
    variable step
    variable series
    while {$done >= $nextSample} {
	lappend series [rss]
	incr nextSample $step
    }
}

# soak::verdict name series -- prints the series; returns "flat" or a
# description of how it is not: every sample after the warm-up must lie
# within the tolerance of the first sample after it.
proc ::soak::verdict {name series} {
    variable warmup
    variable tolerance
    set first [expr {int(ceil(([llength $series] - 1) * $warmup))}]
    set ref [lindex $series $first]
    set lo [expr {$ref * (1 - $tolerance)}]
    set hi [expr {$ref * (1 + $tolerance)}]
    set bad {}
    foreach s [lrange $series $first end] {
	if {$s < $lo || $s > $hi} {lappend bad $s}
    }
    puts [format "soak %-8s RSS KiB: %s" $name $series]
    puts [format "soak %-8s start %d, after warm-up %d, end %d (%+.1f%%)" \
	    $name [lindex $series 0] $ref [lindex $series end] \
	    [expr {100.0 * ([lindex $series end] - $ref) / $ref}]]
    if {$bad eq ""} {
	return flat
    }
    return "outside $lo..$hi: $bad"
}

# soak::until script ?ms? -- run the event loop until script is true at
# global level; 1, or 0 after ms.
proc ::soak::until {script {ms 10000}} {
    set deadline [expr {[clock milliseconds] + $ms}]
    while {![uplevel #0 [list expr $script]]} {
	if {[clock milliseconds] > $deadline} {
	    return 0
	}
	tkuvtest::idle 5
    }
    return 1
}
