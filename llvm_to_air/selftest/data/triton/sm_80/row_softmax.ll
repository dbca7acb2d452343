; ModuleID = 'LLVMDialectModule'
source_filename = "LLVMDialectModule"
target datalayout = "e-p3:32:32-p4:32:32-p5:32:32-p6:32:32-p7:32:32-p101:32:32-i64:64-i128:128-i256:256-v16:16-v32:32-n16:32:64"

@global_smem = external local_unnamed_addr addrspace(3) global [0 x i8], align 16

; Function Attrs: nounwind
define ptx_kernel void @row_softmax(ptr addrspace(1) %0, ptr addrspace(1) %1, i32 %2, i32 %3, i32 %4, ptr addrspace(1) nofree readnone captures(none) %5, ptr addrspace(1) nofree readnone captures(none) %6) local_unnamed_addr #0 !dbg !4 {
  %8 = tail call i32 @llvm.nvvm.read.ptx.sreg.ctaid.x(), !dbg !12
  %9 = tail call i32 @llvm.nvvm.read.ptx.sreg.tid.x(), !dbg !13
  %10 = and i32 %9, 127, !dbg !13
  %11 = icmp slt i32 %10, %4, !dbg !14
  %12 = mul i32 %2, %8, !dbg !15
  %13 = sext i32 %12 to i64, !dbg !16
  %14 = getelementptr [4 x i8], ptr addrspace(1) %1, i64 %13, !dbg !16
  %15 = zext nneg i32 %10 to i64, !dbg !16
  %16 = getelementptr [4 x i8], ptr addrspace(1) %14, i64 %15, !dbg !16
  %17 = tail call i32 asm sideeffect "mov.u32 $0, $1;\0A\09@$3 ld.global.b32 { $0 }, [ $2 + 0 ];", "=r,r,l,b"(i32 -8388608, ptr addrspace(1) %16, i1 %11) #7, !dbg !17
  %18 = bitcast i32 %17 to float, !dbg !17
  %19 = tail call i32 @llvm.nvvm.shfl.sync.bfly.i32(i32 -1, i32 %17, i32 16, i32 31), !dbg !18
  %20 = bitcast i32 %19 to float, !dbg !18
  %21 = tail call float @llvm.maxnum.f32(float %18, float %20), !dbg !23
  %22 = bitcast float %21 to i32, !dbg !18
  %23 = tail call i32 @llvm.nvvm.shfl.sync.bfly.i32(i32 -1, i32 %22, i32 8, i32 31), !dbg !18
  %24 = bitcast i32 %23 to float, !dbg !18
  %25 = tail call float @llvm.maxnum.f32(float %21, float %24), !dbg !23
  %26 = bitcast float %25 to i32, !dbg !18
  %27 = tail call i32 @llvm.nvvm.shfl.sync.bfly.i32(i32 -1, i32 %26, i32 4, i32 31), !dbg !18
  %28 = bitcast i32 %27 to float, !dbg !18
  %29 = tail call float @llvm.maxnum.f32(float %25, float %28), !dbg !23
  %30 = bitcast float %29 to i32, !dbg !18
  %31 = tail call i32 @llvm.nvvm.shfl.sync.bfly.i32(i32 -1, i32 %30, i32 2, i32 31), !dbg !18
  %32 = bitcast i32 %31 to float, !dbg !18
  %33 = tail call float @llvm.maxnum.f32(float %29, float %32), !dbg !23
  %34 = bitcast float %33 to i32, !dbg !18
  %35 = tail call i32 @llvm.nvvm.shfl.sync.bfly.i32(i32 -1, i32 %34, i32 1, i32 31), !dbg !18
  %36 = bitcast i32 %35 to float, !dbg !18
  %37 = tail call float @llvm.maxnum.f32(float %33, float %36), !dbg !23
  %38 = lshr i32 %9, 3, !dbg !18
  %39 = and i32 %38, 12, !dbg !18
  %40 = getelementptr inbounds nuw i8, ptr addrspace(3) @global_smem, i32 %39, !dbg !18
  store float %37, ptr addrspace(3) %40, align 4, !dbg !18
  tail call void @llvm.nvvm.barrier.cta.sync.aligned.all(i32 0), !dbg !18
  %41 = shl nuw nsw i32 %9, 2, !dbg !18
  %42 = and i32 %41, 12, !dbg !18
  %43 = getelementptr inbounds nuw i8, ptr addrspace(3) @global_smem, i32 %42, !dbg !18
  %44 = load i32, ptr addrspace(3) %43, align 4, !dbg !18
  %45 = bitcast i32 %44 to float, !dbg !18
  %46 = tail call i32 @llvm.nvvm.shfl.sync.bfly.i32(i32 -1, i32 %44, i32 2, i32 31), !dbg !18
  %47 = bitcast i32 %46 to float, !dbg !18
  %48 = tail call float @llvm.maxnum.f32(float %45, float %47), !dbg !23
  %49 = bitcast float %48 to i32, !dbg !18
  %50 = tail call i32 @llvm.nvvm.shfl.sync.bfly.i32(i32 -1, i32 %49, i32 1, i32 31), !dbg !18
  %51 = bitcast i32 %50 to float, !dbg !18
  %52 = tail call float @llvm.maxnum.f32(float %48, float %51), !dbg !23
  %53 = fsub float %18, %52, !dbg !24
  %54 = fmul float %53, f0x3FB8AA3B, !dbg !25
  %55 = tail call float @llvm.nvvm.ex2.approx.f32(float %54), !dbg !25
  %56 = mul i32 %3, %8, !dbg !26
  %57 = sext i32 %56 to i64, !dbg !27
  %58 = getelementptr [4 x i8], ptr addrspace(1) %0, i64 %57, !dbg !27
  %59 = getelementptr [4 x i8], ptr addrspace(1) %58, i64 %15, !dbg !27
  tail call void @llvm.nvvm.barrier.cta.sync.aligned.all(i32 0), !dbg !28
  %60 = bitcast float %55 to i32, !dbg !28
  %61 = tail call i32 @llvm.nvvm.shfl.sync.bfly.i32(i32 -1, i32 %60, i32 16, i32 31), !dbg !28
  %62 = bitcast i32 %61 to float, !dbg !28
  %63 = fadd float %55, %62, !dbg !30
  %64 = bitcast float %63 to i32, !dbg !28
  %65 = tail call i32 @llvm.nvvm.shfl.sync.bfly.i32(i32 -1, i32 %64, i32 8, i32 31), !dbg !28
  %66 = bitcast i32 %65 to float, !dbg !28
  %67 = fadd float %63, %66, !dbg !30
  %68 = bitcast float %67 to i32, !dbg !28
  %69 = tail call i32 @llvm.nvvm.shfl.sync.bfly.i32(i32 -1, i32 %68, i32 4, i32 31), !dbg !28
  %70 = bitcast i32 %69 to float, !dbg !28
  %71 = fadd float %67, %70, !dbg !30
  %72 = bitcast float %71 to i32, !dbg !28
  %73 = tail call i32 @llvm.nvvm.shfl.sync.bfly.i32(i32 -1, i32 %72, i32 2, i32 31), !dbg !28
  %74 = bitcast i32 %73 to float, !dbg !28
  %75 = fadd float %71, %74, !dbg !30
  %76 = bitcast float %75 to i32, !dbg !28
  %77 = tail call i32 @llvm.nvvm.shfl.sync.bfly.i32(i32 -1, i32 %76, i32 1, i32 31), !dbg !28
  %78 = bitcast i32 %77 to float, !dbg !28
  %79 = fadd float %75, %78, !dbg !30
  store float %79, ptr addrspace(3) %40, align 4, !dbg !28
  tail call void @llvm.nvvm.barrier.cta.sync.aligned.all(i32 0), !dbg !28
  %80 = load i32, ptr addrspace(3) %43, align 4, !dbg !28
  %81 = bitcast i32 %80 to float, !dbg !28
  %82 = tail call i32 @llvm.nvvm.shfl.sync.bfly.i32(i32 -1, i32 %80, i32 2, i32 31), !dbg !28
  %83 = bitcast i32 %82 to float, !dbg !28
  %84 = fadd float %81, %83, !dbg !30
  %85 = bitcast float %84 to i32, !dbg !28
  %86 = tail call i32 @llvm.nvvm.shfl.sync.bfly.i32(i32 -1, i32 %85, i32 1, i32 31), !dbg !28
  %87 = bitcast i32 %86 to float, !dbg !28
  %88 = fadd float %84, %87, !dbg !30
  %89 = tail call float @llvm.nvvm.div.full(float %55, float %88), !dbg !31
  %90 = bitcast float %89 to i32, !dbg !32
  tail call void asm sideeffect "@$2 st.global.b32 [ $1 + 0 ], { $0 };", "r,l,b"(i32 %90, ptr addrspace(1) %59, i1 %11) #7, !dbg !32
  ret void, !dbg !33
}

; Function Attrs: mustprogress nocallback nofree nosync nounwind speculatable willreturn memory(none)
declare noundef range(i32 0, 2147483647) i32 @llvm.nvvm.read.ptx.sreg.ctaid.x() #1

; Function Attrs: mustprogress nocallback nofree nosync nounwind speculatable willreturn memory(none)
declare noundef range(i32 0, 1024) i32 @llvm.nvvm.read.ptx.sreg.tid.x() #1

; Function Attrs: convergent nocallback nounwind memory(inaccessiblemem: readwrite)
declare i32 @llvm.nvvm.shfl.sync.bfly.i32(i32, i32, i32, i32) #2

; Function Attrs: mustprogress nocallback nocreateundeforpoison nofree nosync nounwind speculatable willreturn memory(none)
declare float @llvm.maxnum.f32(float, float) #3

; Function Attrs: convergent nocallback nounwind
declare void @llvm.nvvm.barrier.cta.sync.aligned.all(i32) #4

; Function Attrs: mustprogress nocallback nofree nosync nounwind willreturn memory(none)
declare float @llvm.nvvm.ex2.approx.f32(float) #5

; Function Attrs: mustprogress nocallback nocreateundeforpoison nofree nosync nounwind willreturn memory(none)
declare float @llvm.nvvm.div.full(float, float) #6

attributes #0 = { nounwind "nvvm.reqntid"="128" }
attributes #1 = { mustprogress nocallback nofree nosync nounwind speculatable willreturn memory(none) }
attributes #2 = { convergent nocallback nounwind memory(inaccessiblemem: readwrite) }
attributes #3 = { mustprogress nocallback nocreateundeforpoison nofree nosync nounwind speculatable willreturn memory(none) }
attributes #4 = { convergent nocallback nounwind }
attributes #5 = { mustprogress nocallback nofree nosync nounwind willreturn memory(none) }
attributes #6 = { mustprogress nocallback nocreateundeforpoison nofree nosync nounwind willreturn memory(none) }
attributes #7 = { nounwind }

!llvm.dbg.cu = !{!0}
!llvm.module.flags = !{!2, !3}

!0 = distinct !DICompileUnit(language: DW_LANG_C, file: !1, producer: "triton", isOptimized: true, runtimeVersion: 0, emissionKind: LineTablesOnly)
!1 = !DIFile(filename: "kernels.py", directory: "/work/wt10/tests/fixtures/src/triton")
!2 = !{i32 2, !"Debug Info Version", i32 3}
!3 = !{i32 4, !"nvvm-reflect-ftz", i32 1}
!4 = distinct !DISubprogram(name: "row_softmax", linkageName: "row_softmax", scope: !1, file: !1, line: 33, type: !5, scopeLine: 33, spFlags: DISPFlagDefinition | DISPFlagOptimized, unit: !0)
!5 = !DISubroutineType(cc: DW_CC_normal, types: !6)
!6 = !{null, !7, !7, !9, !9, !9, !10, !10}
!7 = !DIDerivedType(tag: DW_TAG_pointer_type, name: "pointer", baseType: !8, size: 64, dwarfAddressSpace: 1)
!8 = !DIBasicType(name: "float", size: 32, encoding: DW_ATE_float)
!9 = !DIBasicType(name: "int", size: 32, encoding: DW_ATE_signed)
!10 = !DIDerivedType(tag: DW_TAG_pointer_type, name: "pointer", baseType: !11, size: 64, dwarfAddressSpace: 1)
!11 = !DIBasicType(name: "unknown_type", encoding: DW_ATE_signed)
!12 = !DILocation(line: 34, column: 11, scope: !4)
!13 = !DILocation(line: 35, column: 12, scope: !4)
!14 = !DILocation(line: 36, column: 12, scope: !4)
!15 = !DILocation(line: 37, column: 29, scope: !4)
!16 = !DILocation(line: 37, column: 20, scope: !4)
!17 = !DILocation(line: 37, column: 12, scope: !4)
!18 = !DILocation(line: 216, column: 16, scope: !19, inlinedAt: !21)
!19 = distinct !DILexicalBlockFile(scope: !4, file: !20, discriminator: 0)
!20 = !DIFile(filename: "standard.py", directory: "/root/.pyenv/versions/3.11.7/lib/python3.11/site-packages/triton/language")
!21 = !DILocation(line: 38, column: 22, scope: !22)
!22 = distinct !DILexicalBlockFile(scope: !4, file: !1, discriminator: 0)
!23 = !DILocation(line: 196, column: 12, scope: !19, inlinedAt: !18)
!24 = !DILocation(line: 38, column: 15, scope: !4)
!25 = !DILocation(line: 39, column: 9, scope: !4)
!26 = !DILocation(line: 40, column: 24, scope: !4)
!27 = !DILocation(line: 40, column: 14, scope: !4)
!28 = !DILocation(line: 314, column: 12, scope: !19, inlinedAt: !29)
!29 = !DILocation(line: 40, column: 53, scope: !22)
!30 = !DILocation(line: 287, column: 12, scope: !19, inlinedAt: !28)
!31 = !DILocation(line: 40, column: 49, scope: !4)
!32 = !DILocation(line: 40, column: 5, scope: !4)
!33 = !DILocation(line: 33, column: 1, scope: !4)
