; ModuleID = 'src/opencl/reduce_local.cl'
source_filename = "src/opencl/reduce_local.cl"
target datalayout = "e-i64:64-v16:16-v24:32-v32:32-v48:64-v96:128-v192:256-v256:256-v512:512-v1024:1024-G1"
target triple = "spir64"

@reduce_local.scratch = internal unnamed_addr addrspace(3) global [128 x float] undef, align 4

; Function Attrs: convergent norecurse nounwind
define dso_local spir_kernel void @reduce_local(ptr addrspace(1) nocapture noundef readonly align 4 %0, ptr addrspace(1) nocapture noundef writeonly align 4 %1, i32 noundef %2) local_unnamed_addr #0 !kernel_arg_addr_space !4 !kernel_arg_access_qual !5 !kernel_arg_type !6 !kernel_arg_base_type !6 !kernel_arg_type_qual !7 !kernel_arg_name !8 {
  %4 = tail call spir_func i64 @_Z12get_local_idj(i32 noundef 0) #3
  %5 = trunc i64 %4 to i32
  %6 = tail call spir_func i64 @_Z13get_global_idj(i32 noundef 0) #3
  %7 = trunc i64 %6 to i32
  %8 = icmp slt i32 %7, %2
  br i1 %8, label %9, label %13

9:                                                ; preds = %3
  %10 = sext i32 %7 to i64
  %11 = getelementptr inbounds float, ptr addrspace(1) %0, i64 %10
  %12 = load float, ptr addrspace(1) %11, align 4, !tbaa !9
  br label %13

13:                                               ; preds = %3, %9
  %14 = phi float [ %12, %9 ], [ 0.000000e+00, %3 ]
  %15 = sext i32 %5 to i64
  %16 = getelementptr inbounds [128 x float], ptr addrspace(3) @reduce_local.scratch, i64 0, i64 %15
  store float %14, ptr addrspace(3) %16, align 4, !tbaa !9
  tail call spir_func void @_Z7barrierj(i32 noundef 1) #4
  %17 = icmp slt i32 %5, 64
  br i1 %17, label %18, label %25

18:                                               ; preds = %13
  %19 = add nsw i32 %5, 64
  %20 = sext i32 %19 to i64
  %21 = getelementptr inbounds [128 x float], ptr addrspace(3) @reduce_local.scratch, i64 0, i64 %20
  %22 = load float, ptr addrspace(3) %21, align 4, !tbaa !9
  %23 = load float, ptr addrspace(3) %16, align 4, !tbaa !9
  %24 = fadd float %22, %23
  store float %24, ptr addrspace(3) %16, align 4, !tbaa !9
  br label %25

25:                                               ; preds = %18, %13
  tail call spir_func void @_Z7barrierj(i32 noundef 1) #4
  %26 = icmp slt i32 %5, 32
  br i1 %26, label %27, label %34

27:                                               ; preds = %25
  %28 = add nsw i32 %5, 32
  %29 = sext i32 %28 to i64
  %30 = getelementptr inbounds [128 x float], ptr addrspace(3) @reduce_local.scratch, i64 0, i64 %29
  %31 = load float, ptr addrspace(3) %30, align 4, !tbaa !9
  %32 = load float, ptr addrspace(3) %16, align 4, !tbaa !9
  %33 = fadd float %31, %32
  store float %33, ptr addrspace(3) %16, align 4, !tbaa !9
  br label %34

34:                                               ; preds = %27, %25
  tail call spir_func void @_Z7barrierj(i32 noundef 1) #4
  %35 = icmp slt i32 %5, 16
  br i1 %35, label %36, label %43

36:                                               ; preds = %34
  %37 = add nsw i32 %5, 16
  %38 = sext i32 %37 to i64
  %39 = getelementptr inbounds [128 x float], ptr addrspace(3) @reduce_local.scratch, i64 0, i64 %38
  %40 = load float, ptr addrspace(3) %39, align 4, !tbaa !9
  %41 = load float, ptr addrspace(3) %16, align 4, !tbaa !9
  %42 = fadd float %40, %41
  store float %42, ptr addrspace(3) %16, align 4, !tbaa !9
  br label %43

43:                                               ; preds = %36, %34
  tail call spir_func void @_Z7barrierj(i32 noundef 1) #4
  %44 = icmp slt i32 %5, 8
  br i1 %44, label %45, label %52

45:                                               ; preds = %43
  %46 = add nsw i32 %5, 8
  %47 = sext i32 %46 to i64
  %48 = getelementptr inbounds [128 x float], ptr addrspace(3) @reduce_local.scratch, i64 0, i64 %47
  %49 = load float, ptr addrspace(3) %48, align 4, !tbaa !9
  %50 = load float, ptr addrspace(3) %16, align 4, !tbaa !9
  %51 = fadd float %49, %50
  store float %51, ptr addrspace(3) %16, align 4, !tbaa !9
  br label %52

52:                                               ; preds = %45, %43
  tail call spir_func void @_Z7barrierj(i32 noundef 1) #4
  %53 = icmp slt i32 %5, 4
  br i1 %53, label %54, label %61

54:                                               ; preds = %52
  %55 = add nsw i32 %5, 4
  %56 = sext i32 %55 to i64
  %57 = getelementptr inbounds [128 x float], ptr addrspace(3) @reduce_local.scratch, i64 0, i64 %56
  %58 = load float, ptr addrspace(3) %57, align 4, !tbaa !9
  %59 = load float, ptr addrspace(3) %16, align 4, !tbaa !9
  %60 = fadd float %58, %59
  store float %60, ptr addrspace(3) %16, align 4, !tbaa !9
  br label %61

61:                                               ; preds = %54, %52
  tail call spir_func void @_Z7barrierj(i32 noundef 1) #4
  %62 = icmp slt i32 %5, 2
  br i1 %62, label %63, label %70

63:                                               ; preds = %61
  %64 = add nsw i32 %5, 2
  %65 = sext i32 %64 to i64
  %66 = getelementptr inbounds [128 x float], ptr addrspace(3) @reduce_local.scratch, i64 0, i64 %65
  %67 = load float, ptr addrspace(3) %66, align 4, !tbaa !9
  %68 = load float, ptr addrspace(3) %16, align 4, !tbaa !9
  %69 = fadd float %67, %68
  store float %69, ptr addrspace(3) %16, align 4, !tbaa !9
  br label %70

70:                                               ; preds = %63, %61
  tail call spir_func void @_Z7barrierj(i32 noundef 1) #4
  %71 = icmp slt i32 %5, 1
  br i1 %71, label %72, label %79

72:                                               ; preds = %70
  %73 = add nsw i32 %5, 1
  %74 = sext i32 %73 to i64
  %75 = getelementptr inbounds [128 x float], ptr addrspace(3) @reduce_local.scratch, i64 0, i64 %74
  %76 = load float, ptr addrspace(3) %75, align 4, !tbaa !9
  %77 = load float, ptr addrspace(3) %16, align 4, !tbaa !9
  %78 = fadd float %76, %77
  store float %78, ptr addrspace(3) %16, align 4, !tbaa !9
  br label %79

79:                                               ; preds = %72, %70
  tail call spir_func void @_Z7barrierj(i32 noundef 1) #4
  %80 = icmp eq i32 %5, 0
  br i1 %80, label %81, label %85

81:                                               ; preds = %79
  %82 = load float, ptr addrspace(3) @reduce_local.scratch, align 4, !tbaa !9
  %83 = tail call spir_func i64 @_Z12get_group_idj(i32 noundef 0) #3
  %84 = getelementptr inbounds float, ptr addrspace(1) %1, i64 %83
  store float %82, ptr addrspace(1) %84, align 4, !tbaa !9
  br label %85

85:                                               ; preds = %81, %79
  ret void
}

; Function Attrs: convergent mustprogress nofree nounwind willreturn memory(none)
declare dso_local spir_func i64 @_Z12get_local_idj(i32 noundef) local_unnamed_addr #1

; Function Attrs: convergent mustprogress nofree nounwind willreturn memory(none)
declare dso_local spir_func i64 @_Z13get_global_idj(i32 noundef) local_unnamed_addr #1

; Function Attrs: convergent nounwind
declare dso_local spir_func void @_Z7barrierj(i32 noundef) local_unnamed_addr #2

; Function Attrs: convergent mustprogress nofree nounwind willreturn memory(none)
declare dso_local spir_func i64 @_Z12get_group_idj(i32 noundef) local_unnamed_addr #1

attributes #0 = { convergent norecurse nounwind "frame-pointer"="all" "no-trapping-math"="true" "stack-protector-buffer-size"="8" "uniform-work-group-size"="false" }
attributes #1 = { convergent mustprogress nofree nounwind willreturn memory(none) "frame-pointer"="all" "no-trapping-math"="true" "stack-protector-buffer-size"="8" }
attributes #2 = { convergent nounwind "frame-pointer"="all" "no-trapping-math"="true" "stack-protector-buffer-size"="8" }
attributes #3 = { convergent nounwind willreturn memory(none) }
attributes #4 = { convergent nounwind }

!llvm.module.flags = !{!0, !1}
!opencl.ocl.version = !{!2}
!opencl.spir.version = !{!2}
!llvm.ident = !{!3}

!0 = !{i32 1, !"wchar_size", i32 4}
!1 = !{i32 7, !"frame-pointer", i32 2}
!2 = !{i32 2, i32 0}
!3 = !{!"Debian clang version 19.1.7 (3~deb12u1)"}
!4 = !{i32 1, i32 1, i32 0}
!5 = !{!"none", !"none", !"none"}
!6 = !{!"float*", !"float*", !"int"}
!7 = !{!"const", !"", !""}
!8 = !{!"in", !"partial", !"n"}
!9 = !{!10, !10, i64 0}
!10 = !{!"float", !11, i64 0}
!11 = !{!"omnipotent char", !12, i64 0}
!12 = !{!"Simple C/C++ TBAA"}
