/*
 * Copyright (c) 2026 The tkuv authors. BSD 2-Clause licence: see LICENSE.
 *
 * tcl9-types.h --
 *
 *	`make check-tcl9-types` forces this header in front of every C file
 *	of generic/ (gcc -include ... -fsyntax-only) to compile tkuv against
 *	Tcl 8.6's headers with Tcl 9's types where they differ, so that a
 *	mistake that only Tcl 9 would pay for (in memory, not in a warning)
 *	fails the 8.6 build:
 *
 *	- Tcl_Size is a ptrdiff_t, as in Tcl 9, so an int * handed to a
 *	  length out-parameter (into which Tcl 9 writes 8 bytes) is a pointer
 *	  type mismatch. Each 8.6 function that Tcl 9 gives a Tcl_Size *
 *	  is redeclared here with it.
 *	- Tcl_FreeProc takes a void *, as in Tcl 9.
 *	- TCL_MAJOR_VERSION is 9, so tkuv's own Tcl 9 branches are compiled.
 *
 *	Only for -fsyntax-only: the redeclared functions have no definitions.
 *	Run it with -Werror=incompatible-pointer-types.
 */

#ifndef TKUV_TCL9_TYPES_H
#define TKUV_TCL9_TYPES_H

/* Included before any file's own first line: tkuvBridge.c's feature macro. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stddef.h>
#include <stdint.h>

/* 8.6's own names moved aside (8.6.14+ define Tcl_Size as int). */
#define TCL_THREADS 1
#define Tcl_FreeProc Tcl86_FreeProc
#define Tcl_Size Tcl86_Size
#include <tcl.h>
#undef Tcl_FreeProc
#undef Tcl_Size
#undef TCL_SIZE_MAX
#undef TCL_SIZE_MODIFIER

#if TCL_MAJOR_VERSION != 8
#error "check-tcl9-types is for Tcl 8.6 headers (Tcl 9's need no check)"
#endif

typedef ptrdiff_t Tcl_Size;
#define TCL_SIZE_MAX		PTRDIFF_MAX
#define TCL_SIZE_MODIFIER	"t"
typedef void (Tcl_FreeProc) (void *blockPtr);
#undef TCL_MAJOR_VERSION
#define TCL_MAJOR_VERSION	9

/*
 * Tcl 9's signatures. Tcl 9.0's tclDecls.h declares the same; the ones
 * that 8.6 lacks are declared too, for code inside TCL_MAJOR_VERSION > 8.
 */
#define TCL9(name) Tkuv9_##name

#undef Tcl_GetStringFromObj
#define Tcl_GetStringFromObj TCL9(GetStringFromObj)
char *		TCL9(GetStringFromObj)(Tcl_Obj *objPtr, Tcl_Size *lengthPtr);
#undef Tcl_GetByteArrayFromObj
#define Tcl_GetByteArrayFromObj TCL9(GetByteArrayFromObj)
unsigned char *	TCL9(GetByteArrayFromObj)(Tcl_Obj *objPtr,
		    Tcl_Size *numBytesPtr);
#undef Tcl_GetBytesFromObj
#define Tcl_GetBytesFromObj TCL9(GetBytesFromObj)
unsigned char *	TCL9(GetBytesFromObj)(Tcl_Interp *interp, Tcl_Obj *objPtr,
		    Tcl_Size *numBytesPtr);
#undef Tcl_GetUnicodeFromObj
#define Tcl_GetUnicodeFromObj TCL9(GetUnicodeFromObj)
Tcl_UniChar *	TCL9(GetUnicodeFromObj)(Tcl_Obj *objPtr, Tcl_Size *lengthPtr);
#undef Tcl_ListObjGetElements
#define Tcl_ListObjGetElements TCL9(ListObjGetElements)
int		TCL9(ListObjGetElements)(Tcl_Interp *interp, Tcl_Obj *listPtr,
		    Tcl_Size *objcPtr, Tcl_Obj ***objvPtr);
#undef Tcl_ListObjLength
#define Tcl_ListObjLength TCL9(ListObjLength)
int		TCL9(ListObjLength)(Tcl_Interp *interp, Tcl_Obj *listPtr,
		    Tcl_Size *lengthPtr);
#undef Tcl_DictObjSize
#define Tcl_DictObjSize TCL9(DictObjSize)
int		TCL9(DictObjSize)(Tcl_Interp *interp, Tcl_Obj *dictPtr,
		    Tcl_Size *sizePtr);
#undef Tcl_SplitList
#define Tcl_SplitList TCL9(SplitList)
int		TCL9(SplitList)(Tcl_Interp *interp, const char *listStr,
		    Tcl_Size *argcPtr, const char ***argvPtr);
#undef Tcl_SplitPath
#define Tcl_SplitPath TCL9(SplitPath)
void		TCL9(SplitPath)(const char *path, Tcl_Size *argcPtr,
		    const char ***argvPtr);
#undef Tcl_FSSplitPath
#define Tcl_FSSplitPath TCL9(FSSplitPath)
Tcl_Obj *	TCL9(FSSplitPath)(Tcl_Obj *pathPtr, Tcl_Size *lenPtr);
#undef Tcl_ParseArgsObjv
#define Tcl_ParseArgsObjv TCL9(ParseArgsObjv)
int		TCL9(ParseArgsObjv)(Tcl_Interp *interp,
		    const Tcl_ArgvInfo *argTable, Tcl_Size *objcPtr,
		    Tcl_Obj *const *objv, Tcl_Obj ***remObjv);
#undef Tcl_GetSizeIntFromObj
#define Tcl_GetSizeIntFromObj TCL9(GetSizeIntFromObj)
int		TCL9(GetSizeIntFromObj)(Tcl_Interp *interp, Tcl_Obj *objPtr,
		    Tcl_Size *sizePtr);
#undef Tcl_GetIntForIndex
#define Tcl_GetIntForIndex TCL9(GetIntForIndex)
int		TCL9(GetIntForIndex)(Tcl_Interp *interp, Tcl_Obj *objPtr,
		    Tcl_Size endValue, Tcl_Size *indexPtr);

/* Those that take a Tcl_FreeProc. */
#undef Tcl_EventuallyFree
#define Tcl_EventuallyFree TCL9(EventuallyFree)
void		TCL9(EventuallyFree)(void *clientData, Tcl_FreeProc *freeProc);
#undef Tcl_SetResult
#define Tcl_SetResult TCL9(SetResult)
void		TCL9(SetResult)(Tcl_Interp *interp, char *result,
		    Tcl_FreeProc *freeProc);

#endif /* TKUV_TCL9_TYPES_H */
