; ModuleID = 'src/cuda/struct_param.cu'
source_filename = "src/cuda/struct_param.cu"
target datalayout = "e-i64:64-i128:128-v16:16-v32:32-n16:32:64"
target triple = "nvptx64-nvidia-cuda"

%struct.Params = type { float, i32, float }

; Function Attrs: mustprogress nofree norecurse nosync nounwind willreturn
define dso_local void @_Z12struct_paramPKfPf6Paramsi(float* nocapture noundef readonly %0, float* nocapture noundef writeonly %1, %struct.Params* nocapture noundef readonly byval(%struct.Params) align 4 %2, i32 noundef %3) local_unnamed_addr #0 {
  %5 = tail call i32 @llvm.nvvm.read.ptx.sreg.ctaid.x() #2
  %6 = tail call i32 @llvm.nvvm.read.ptx.sreg.ntid.x() #2
  %7 = mul i32 %5, %6
  %8 = tail call i32 @llvm.nvvm.read.ptx.sreg.tid.x() #2
  %9 = add i32 %7, %8
  %10 = icmp slt i32 %9, %3
  br i1 %10, label %11, label %29

11:                                               ; preds = %4
  %12 = getelementptr inbounds %struct.Params, %struct.Params* %2, i64 0, i32 1
  %13 = load i32, i32* %12, align 4, !tbaa !5
  %14 = add nsw i32 %13, %9
  %15 = icmp slt i32 %14, %3
  %16 = select i1 %15, i32 0, i32 %3
  %17 = sub nsw i32 %14, %16
  %18 = sext i32 %17 to i64
  %19 = getelementptr inbounds float, float* %0, i64 %18
  %20 = load float, float* %19, align 4, !tbaa !11
  %21 = getelementptr inbounds %struct.Params, %struct.Params* %2, i64 0, i32 0
  %22 = load float, float* %21, align 4, !tbaa !12
  %23 = fmul contract float %20, %22
  %24 = getelementptr inbounds %struct.Params, %struct.Params* %2, i64 0, i32 2
  %25 = load float, float* %24, align 4, !tbaa !13
  %26 = fadd contract float %23, %25
  %27 = sext i32 %9 to i64
  %28 = getelementptr inbounds float, float* %1, i64 %27
  store float %26, float* %28, align 4, !tbaa !11
  br label %29

29:                                               ; preds = %11, %4
  ret void
}

; Function Attrs: nofree nosync nounwind readnone speculatable
declare i32 @llvm.nvvm.read.ptx.sreg.ctaid.x() #1

; Function Attrs: nofree nosync nounwind readnone speculatable
declare i32 @llvm.nvvm.read.ptx.sreg.ntid.x() #1

; Function Attrs: nofree nosync nounwind readnone speculatable
declare i32 @llvm.nvvm.read.ptx.sreg.tid.x() #1

attributes #0 = { mustprogress nofree norecurse nosync nounwind willreturn "frame-pointer"="all" "min-legal-vector-width"="0" "no-trapping-math"="true" "stack-protector-buffer-size"="8" "target-cpu"="sm_70" "target-features"="+ptx70,+sm_70" }
attributes #1 = { nofree nosync nounwind readnone speculatable }
attributes #2 = { nounwind }

!nvvm.annotations = !{!0}
!llvm.module.flags = !{!1, !2, !3}
!llvm.ident = !{!4}

!0 = !{void (float*, float*, %struct.Params*, i32)* @_Z12struct_paramPKfPf6Paramsi, !"kernel", i32 1}
!1 = !{i32 1, !"wchar_size", i32 4}
!2 = !{i32 4, !"nvvm-reflect-ftz", i32 0}
!3 = !{i32 7, !"frame-pointer", i32 2}
!4 = !{!"Debian clang version 14.0.6"}
!5 = !{!6, !10, i64 4}
!6 = !{!"_ZTS6Params", !7, i64 0, !10, i64 4, !7, i64 8}
!7 = !{!"float", !8, i64 0}
!8 = !{!"omnipotent char", !9, i64 0}
!9 = !{!"Simple C++ TBAA"}
!10 = !{!"int", !8, i64 0}
!11 = !{!7, !7, i64 0}
!12 = !{!6, !7, i64 0}
!13 = !{!6, !7, i64 8}
