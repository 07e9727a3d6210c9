using IXC25.Vision.Transforms;

namespace IXC25.Vision.Tests;

/// <summary>Results never depend on the number of threads.</summary>
public class DeterminismTests
{
    [Theory]
    [InlineData("vision/media/jpeg_4000x3000.jpg", 24)]
    [InlineData("media/dubai.png", 55)]
    [InlineData("vision/media/size_200x6000.png", 6)]
    public void HdTransformIsIdenticalForEveryThreadCount(string image, int hdNum)
    {
        var img = VisionGoldens.Image(image);
        var one = ImageTransform.HdTransform(img, hdNum, new TransformOptions(MaxThreads: 1));
        foreach (int threads in new[] { 2, 3, 7, -1 })
        {
            var r = ImageTransform.HdTransform(img, hdNum, new TransformOptions(threads));
            Assert.True(one.HdImage.Pixels.AsSpan().SequenceEqual(r.HdImage.Pixels), $"hd_image differs with {threads} threads");
            Assert.True(one.PixelValues.AsSpan().SequenceEqual(r.PixelValues), $"pixel_values differ with {threads} threads");
            Assert.True(one.GlobalView.AsSpan().SequenceEqual(r.GlobalView), $"global_view differs with {threads} threads");
        }
    }
}
