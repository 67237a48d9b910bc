/* Which SIMD paths this build has and which this CPU can run (simd/isa.h
 * names the paths). Stateless: the choice among them is
 * maxmargin._dispatch's. */
#ifndef MAXMARGIN_SIMD_CPU_H
#define MAXMARGIN_SIMD_CPU_H

/* Names of the paths compiled into this build, best first, NULL-terminated. */
const char *const *mm_simd_compiled_paths(void);

/* 1 when this CPU (and OS) can run the named path, else 0 (also for a
 * name that is not a path). */
int mm_simd_cpu_supports(const char *name);

#endif
